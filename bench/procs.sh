# shellcheck shell=bash
# What a process tree costs, from /proc: sourced by the benchmarks that
# compare a proxy made of several processes or threads with another
# (bench/bench_intercept.sh, bench/bench_proxy.sh).

tree() { # the process and its descendants
  local p
  echo "$1"
  for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree "$p"; done
}
cpu_ticks() { # utime+stime of the tree (threads included)
  local s=0 p
  for p in $(tree "$1"); do s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo $s
}
rss_kb() { # VmRSS of the tree
  local s=0 p
  for p in $(tree "$1"); do s=$((s + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done
  echo $s
}
