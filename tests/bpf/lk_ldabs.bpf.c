// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Linker test provider (TC), unmodified: legacy packet loads (LD_ABS/LD_IND),
 * one in a subprogram. The offset of the second load is 16 * byte 14 of the
 * frame: out of the frame's bounds the load ends the program with 0
 * (TC_ACT_OK). In bounds: shot when that byte is 0x42, else pipe.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lk_ldabs_seen SEC(".maps");

static __attribute__((noinline)) int byte_at(struct __sk_buff *skb, __u64 off)
{
	return load_byte(skb, off);
}

SEC("tc")
int lk_ldabs(struct __sk_buff *skb)
{
	__u64 off = load_byte(skb, 14) * 16;
	__u32 k = 0;
	__u64 *v;
	int b = byte_at(skb, off);

	v = bpf_map_lookup_elem(&lk_ldabs_seen, &k);
	if (v)
		*v += 1;
	return b == 0x42 ? 2 /* TC_ACT_SHOT */ : 3 /* TC_ACT_PIPE */;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
