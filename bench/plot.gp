# SPDX-License-Identifier: Apache-2.0
# The slowdown plot of `make bench`: per workload, each sensor's workload time over the time
# with no sensor, median of the rounds (written at the foot of its bar), with min-max bars,
# and sowatch's budget as a black mark.
#
# bench/run.py writes the data and a file setting datafile, outfile, title_text, nrows, ymin
# and ymax, then runs: gnuplot PARAMS bench/plot.gp
#
# Columns: workload budget sowatch_median sowatch_min sowatch_max auditd_... bpftrace_...
# With 3 bars and a gap of 2 bar widths, each bar is 0.2 wide, at -0.2, 0, +0.2 around
# its workload's x (0, 1, ...).

set terminal pngcairo size 1100,620 font "DejaVu Sans,11" noenhanced
set output outfile
set title title_text font "DejaVu Sans,11"
set style data histograms
set style histogram errorbars gap 2 lw 1.5
set style fill solid 0.85 border -1
set boxwidth 0.95
set bars front
set ylabel "time with sensor / time with no sensor"
set xrange [-0.6:nrows - 0.4]
set yrange [ymin:ymax]
set ytics nomirror
set grid ytics lc rgb "#dddddd"
set key top left reverse Left box opaque
set xtics nomirror scale 0
set border 3
# 1: no slowdown at all
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb "#555555" dt 2 back

label(v) = v == v ? sprintf("%.3f", v) : ""
plot datafile using 3:4:5:xtic(1) title "sowatch" lc rgb "#1b9e77", \
     '' using 6:7:8 title "auditd, execve rule" lc rgb "#d95f02", \
     '' using 9:10:11 title "bpftrace, execs + exec mmaps" lc rgb "#7570b3", \
     '' using ($0 - 0.32):2:(0.24):(0) with vectors nohead lw 3 lc rgb "#000000" \
        title "sowatch's budget", \
     '' using ($0 - 0.2):(ymin + (ymax - ymin) * 0.03):(label($3)) with labels \
        font "DejaVu Sans Bold,9" tc rgb "#ffffff" notitle, \
     '' using ($0):(ymin + (ymax - ymin) * 0.03):(label($6)) with labels \
        font "DejaVu Sans Bold,9" tc rgb "#ffffff" notitle, \
     '' using ($0 + 0.2):(ymin + (ymax - ymin) * 0.03):(label($9)) with labels \
        font "DejaVu Sans Bold,9" tc rgb "#ffffff" notitle
