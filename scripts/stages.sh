# Sourced by scripts/test and scripts/setup: runs named stages, says each one's time when it
# ends (`PREFIX-stage: name=NAME seconds=N`), warns loudly when one runs past its budget.
STAGES_PREFIX=$(basename "$0")
STAGES_STARTED=$(date +%s)
STAGES_CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)

# stage NAME BUDGET_SECONDS COMMAND...
stage() {
  local name=$1 budget=$2 started seconds
  shift 2
  started=$(date +%s)
  "$@"
  seconds=$(( $(date +%s) - started ))
  echo "$STAGES_PREFIX-stage: name=$name seconds=$seconds"
  if [ "$seconds" -gt "$budget" ]; then
    echo "!!!!!!!! $STAGES_PREFIX: WARNING: stage $name took ${seconds}s, past its budget of ${budget}s" \
      "on ${STAGES_CPU:-an unknown CPU}: find what made it slower before it eats CI's 90 minutes !!!!!!!!"
  fi
}

# stages_total: the whole run's time, after the last stage.
stages_total() {
  echo "$STAGES_PREFIX-stage: name=total seconds=$(( $(date +%s) - STAGES_STARTED )) cpu=\"${STAGES_CPU:-unknown}\""
}
