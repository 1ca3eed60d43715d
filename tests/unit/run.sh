#!/bin/bash
# Run each Check unit-test binary given as an argument; fail if any of them fails.
export CK_DEFAULT_TIMEOUT="${CK_DEFAULT_TIMEOUT:-60}"
status=0
for bin in "$@"; do
    echo "== $bin"
    if ! "$bin"; then
        echo "FAILED: $bin"
        status=1
    fi
done
exit $status
