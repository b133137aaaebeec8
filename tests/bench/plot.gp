# gnuplot script of make bench (tests/bench/run.sh passes outfile, sustained,
# latency, ceiling and title with -e):
#   top:    delivered msg/s per complete 10-s slice of the sustained run,
#           with the PostgreSQL ceiling (1a) as a dashed line
#   bottom: latency percentiles (INSERT -> wire, created -> delivered)
set terminal pngcairo size 1000,800 noenhanced font ",10"
set output outfile
set multiplot layout 2,1 title title
set title "sustained run: delivered per 10-s slice"
set xlabel "seconds since the first report"
set ylabel "msg/s"
set yrange [0:*]
set grid
set key bottom right
plot sustained using 1:2 with linespoints lw 2 pt 7 title "delivered msg/s", \
     ceiling with lines dt 2 lw 1 title "PostgreSQL ceiling (1a)"
set title "latency percentiles (ms), 1 INSERT per transaction"
set xlabel ""
set ylabel "ms"
set logscale y
set yrange [*:*]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top left
plot latency using 2:xtic(1) title "p50", '' using 3 title "p95", '' using 4 title "p99", '' using 5 title "max"
unset multiplot
