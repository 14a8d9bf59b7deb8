set terminal pngcairo noenhanced size 900,540 font 'sans,11'
set output 'bench/results/2026-12-07-amd-epyc-f25m1-avx2/fig7_total.png'
set title 'Figure 7a: total time of one encrypted batch (element-wise packing, N = 2^15)'
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.6
set ylabel 'seconds'
set xlabel 'batch size (images)'
set key top left
set grid ytics
set yrange [0:*]
plot 'bench/results/2026-12-07-amd-epyc-f25m1-avx2/fig7.dat' using 2:xtic(1) title 'client encrypt' lc rgb '#4C72B0', '' using 3 title 'server forward' lc rgb '#DD8452', '' using 4 title 'client decrypt' lc rgb '#55A868'
unset style
reset
set terminal pngcairo noenhanced size 900,540 font 'sans,11'
set output 'bench/results/2026-12-07-amd-epyc-f25m1-avx2/fig7_amortized.png'
set title 'Figure 7b: amortized time per image (element-wise packing, N = 2^15)'
set logscale xy 2
set xlabel 'batch size (images)'
set ylabel 'ms per image'
set offsets graph 0.04, graph 0.04, graph 0.06, 0
set grid
set key off
set format y '%g'
plot 'bench/results/2026-12-07-amd-epyc-f25m1-avx2/fig7.dat' using 1:6 with linespoints lw 2 pt 7 ps 1.3 lc rgb '#C44E52', '' using 1:6:(sprintf('%.2f', $6)) with labels offset 0,1.2 notitle
reset
set terminal pngcairo noenhanced size 1000,560 font 'sans,10'
set output 'bench/results/2026-12-07-amd-epyc-f25m1-avx2/table1_accuracy.png'
set title 'Table 1: Fashion-MNIST test accuracy per model (10,000 test images)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel 'accuracy (%)'
set grid ytics
set key outside bottom center horizontal
stats 'bench/results/2026-12-07-amd-epyc-f25m1-avx2/table1.dat' using 2 nooutput
relu = 91.9800
set yrange [STATS_min - 1.0 : STATS_max + 0.5]
plot 'bench/results/2026-12-07-amd-epyc-f25m1-avx2/table1.dat' using 2:xtic(1) title 'plaintext' lc rgb '#4C72B0', '' using 3 title 'encrypted (element-wise packing)' lc rgb '#C44E52', relu - 0.5 with lines dt 2 lw 2 lc rgb '#555555' title 'ReLU - 0.5 points'
reset
set terminal pngcairo noenhanced size 1000,540 font 'sans,10'
set output 'bench/results/2026-12-07-amd-epyc-f25m1-avx2/kernels_speedup.png'
set title 'Kernels: speedup over the portable C kernels (N = 2^14, 50-bit primes, one thread)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel 'x faster than ref'
set grid ytics
set yrange [0:*]
set xtics rotate by -35 left
set bmargin 7
set rmargin 6
plot 'bench/results/2026-12-07-amd-epyc-f25m1-avx2/kernels.dat' using 2:xtic(1) title 'avx2' lc rgb '#4C72B0', '' using 3 title 'avx512 (IFMA)' lc rgb '#C44E52'
reset
