# ns/packet against chain length: bench/chain.dat -> docs/bench-chain.png
set terminal pngcairo size 900,540 font ",11" noenhanced
set output "docs/bench-chain.png"
set title "BPF_PROG_TEST_RUN, 64-byte packet"
set xlabel "providers in the chain"
set ylabel "ns per packet"

set xtics (1, 2, 4, 8, 16, 32)
set xrange [0:33]
set key top left
set grid
plot "bench/chain.dat" using 1:2 with lines lw 2 title "provider alone", \
     "" using 1:3 with linespoints lw 2 pt 7 title "nmr-bpf (dispatcher, chain table, linked chain)", \
     "" using 1:4 with linespoints lw 2 pt 5 title "naive (per-CPU cursor)", \
     "" using 1:5 with linespoints lw 1 dt 2 pt 4 title "bare hops (constant-key tail calls)"

# provider register/deregister against clients: bench/scale.dat -> docs/bench-scale.png
set output "docs/bench-scale.png"
set title "provider register / deregister against clients of the NPI"
set xlabel "clients of the NPI"
set ylabel "ms"
set xtics (1, 10, 50, 100)
set xrange [0:105]
set yrange [0:*]
plot "bench/scale.dat" using 1:2 with linespoints lw 2 pt 7 title "provider register", \
     "" using 1:3 with linespoints lw 2 pt 5 title "provider deregister"
