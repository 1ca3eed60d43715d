# Benchmarks and the load run, each against httpd with the module as built.
# Neither is part of `make test`: their figures depend on the machine.
#   make bench   Connect vs a static file, callback and Disconnect against fast fakes, memory;
#                writes bench/results.md and bench/throughput.png (bench/bench.sh)
#   make load    200,000 Connect calls at 50 connections, per-child RSS, and a graceful restart
#                in the middle of a second run, 100,000 more with the flow store's mutexes on fcntl
#                locks (Mutex file:<dir>); fails when a request is lost or answered non-2xx (bench/load.sh)
.PHONY: bench load

bench: $(MODULE)
	@bench/bench.sh

load: $(MODULE)
	@bench/load.sh
