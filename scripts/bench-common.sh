# Sourced by the bench scripts that time whole commands. Needs $WORK (a scratch folder).

now() { date +%s.%N; }

# The median seconds of 5 runs of a command (its stdout to $WORK/out). A run that fails stops
# the bench with the command's error: the time of a refusal or a crash is no figure.
median_of() {
  : >"$WORK/times"
  local t0
  for _ in 1 2 3 4 5; do
    t0=$(now)
    "$@" >"$WORK/out" 2>"$WORK/stderr" || {
      echo "$(basename "$0"): FAILED: $*: $(cat "$WORK/stderr")" >&2
      exit 1
    }
    echo "$(now) - $t0" | bc -l >>"$WORK/times"
  done
  sort -g "$WORK/times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
