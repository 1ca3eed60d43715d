# Sourced by the test runners: starts the fake Blink API and fake provider on loopback,
# exports their ports, and stops them when the calling script exits.
# Usage: . tests/lib/fakes.sh; fakes_start OUTDIR

FAKES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fakes" && pwd)
FAKE_PIDS=()

# Waits until a fake has written its port file; prints the port.
fakes_wait_port() {
    local file=$1 i
    for i in $(seq 1 100); do
        [ -s "$file" ] && { cat "$file"; return 0; }
        sleep 0.1
    done
    echo "fake did not start (no $file)" >&2
    return 1
}

# Stops every fake this script started.
fakes_stop() {
    local pid
    for pid in "${FAKE_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${FAKE_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    FAKE_PIDS=()
}

# Starts both fakes with the credentials the test configuration uses, and the extra instances the
# failing-upstream tests need: a Blink API over TLS with a certificate from a test CA made here
# (BLINK_FAKE_TLS_BLINK_PORT, BLINK_TEST_CA_FILE), and a witness that must never be called
# (BLINK_FAKE_WITNESS_PORT: redirects point there), a Blink API of its own for the background token check
# (BLINK_FAKE_CHECK_BLINK_PORT), and the backend that AuthType Blink <Location>s proxy to (BLINK_FAKE_ECHO_PORT).
fakes_start() {
    local out=$1
    mkdir -p "$out"
    rm -f "$out"/blink.port "$out"/provider.port "$out"/tls_blink.port "$out"/witness.port "$out"/check_blink.port "$out"/echo.port
    "$(dirname "$FAKES_DIR")/lib/test-ca.sh" "$out/tls" || return 1
    python3 "$FAKES_DIR/fake_blink.py" --port 0 --port-file "$out/blink.port" --token api-token-123 \
        --log "$out/fake_blink.log" &
    FAKE_PIDS+=($!)
    python3 "$FAKES_DIR/fake_provider.py" --port 0 --port-file "$out/provider.port" \
        --log "$out/fake_provider.log" --client-id "test client&1" --client-secret client-secret --public-client public-client &
    FAKE_PIDS+=($!)
    python3 "$FAKES_DIR/fake_blink.py" --port 0 --port-file "$out/tls_blink.port" --token api-token-123 \
        --log "$out/fake_tls_blink.log" --tls-cert "$out/tls/server.pem" --tls-key "$out/tls/server.key" &
    FAKE_PIDS+=($!)
    python3 "$FAKES_DIR/fake_blink.py" --port 0 --port-file "$out/witness.port" --token witness-only \
        --log "$out/fake_witness.log" &
    FAKE_PIDS+=($!)
    python3 "$FAKES_DIR/fake_blink.py" --port 0 --port-file "$out/check_blink.port" --token api-token-123 \
        --log "$out/fake_check_blink.log" &
    FAKE_PIDS+=($!)
    python3 "$FAKES_DIR/echo_backend.py" --port 0 --port-file "$out/echo.port" --log "$out/echo_backend.log" &
    FAKE_PIDS+=($!)
    trap fakes_stop EXIT
    BLINK_FAKE_BLINK_PORT=$(fakes_wait_port "$out/blink.port") || return 1
    BLINK_FAKE_PROVIDER_PORT=$(fakes_wait_port "$out/provider.port") || return 1
    BLINK_FAKE_TLS_BLINK_PORT=$(fakes_wait_port "$out/tls_blink.port") || return 1
    BLINK_FAKE_WITNESS_PORT=$(fakes_wait_port "$out/witness.port") || return 1
    BLINK_FAKE_CHECK_BLINK_PORT=$(fakes_wait_port "$out/check_blink.port") || return 1
    BLINK_FAKE_ECHO_PORT=$(fakes_wait_port "$out/echo.port") || return 1
    BLINK_TEST_CA_FILE=$out/tls/ca.pem
    export BLINK_FAKE_BLINK_PORT BLINK_FAKE_PROVIDER_PORT BLINK_FAKE_TLS_BLINK_PORT BLINK_FAKE_WITNESS_PORT
    export BLINK_FAKE_CHECK_BLINK_PORT BLINK_FAKE_ECHO_PORT
    export BLINK_TEST_CA_FILE
}
