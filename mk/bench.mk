# Benchmarks and the load run, each against httpd with the module as built.
# Neither is part of `make test`: their figures depend on the machine.
#   make bench   Connect vs the no-op handler (bench/mod_bench_noop.c) and a static file, callback and Disconnect
#                against fast fakes (and over TLS), memory; BENCH_SCALE=1 adds apps and pending flows;
#                writes bench/results.md and bench/throughput.png (bench/bench.sh)
#   make load    200,000 Connect calls at 50 connections, per-child RSS, and a graceful restart
#                in the middle of a second run, 100,000 more with the flow store's mutexes on fcntl
#                locks (Mutex file:<dir>); fails when a request is lost or answered non-2xx (bench/load.sh)
.PHONY: bench load

bench: $(MODULE)
	@bench/bench.sh

load: $(MODULE)
	@bench/load.sh

# make bench-postconns  connections opened by 1000 sequential POSTs through blinkauth_http_call against a
#                       keep-alive loopback server (bench/postconns.c); N other than 1000: build/bench/postconns N
.PHONY: bench-postconns
build/bench/postconns: bench/postconns.c tests/unit/http_server.c tests/unit/http_server.h $(CORE_SRC) $(CORE_HDR)
	@mkdir -p build/bench
	$(CC) $(UNIT_CFLAGS) -o $@ bench/postconns.c tests/unit/http_server.c $(CORE_SRC) $(LIBS) $(APR_LIBS) -lpthread

bench-postconns: build/bench/postconns
	@build/bench/postconns 1000

# make bench-act  acting for the user: an action (AuthType Blink + ProxyPass) against plain mod_proxy to the same
#                 fast backend, with and without BlinkAuthTokenKey, and a child's RSS over 4 × 100,000 actions;
#                 writes bench/act-results.md (bench/act.sh)
.PHONY: bench-act
bench-act: $(MODULE)
	@bench/act.sh
