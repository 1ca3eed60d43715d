# mod_blinkauth — build, test and run.  `make` builds .libs/mod_blinkauth.so with apxs;
# `make test` runs every suite; `make run` starts a local sandbox.  See README.md.

APXS     ?= apxs
VERSION  := $(shell sed -n 's/^#define BLINKAUTH_VERSION "\(.*\)"$$/\1/p' modules/version.h)
CORE_SRC := $(sort $(wildcard modules/*.c))
CORE_HDR := $(wildcard modules/*.h)
GLUE_SRC := $(sort $(wildcard glue/*.c routes/*.c))
GLUE_HDR := $(wildcard glue/*.h routes/*.h)
LIBS     := -ljansson -lcurl -lcrypto
WARN     := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wredundant-decls -Wmissing-prototypes -std=gnu11
ifeq ($(WERROR),1)
WARN     += -Werror
endif
EXTRA_CFLAGS ?=

INCLUDEDIR := $(shell $(APXS) -q INCLUDEDIR 2>/dev/null)
LIBEXECDIR := $(shell $(APXS) -q LIBEXECDIR 2>/dev/null)
APR_CFLAGS := $(shell apr-1-config --cppflags --includes 2>/dev/null) $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS   := $(shell apr-1-config --link-ld 2>/dev/null) $(shell apu-1-config --link-ld 2>/dev/null)

MODULE := .libs/mod_blinkauth.so

.PHONY: all deps install test test-unit test-apache test-config run clean

all: $(MODULE)

$(MODULE): mod_blinkauth.c $(CORE_SRC) $(CORE_HDR) $(GLUE_SRC) $(GLUE_HDR) Makefile
	@mkdir -p build
	@echo "  APXS  mod_blinkauth.so"
	@$(APXS) -c -Imodules -Iglue -Iroutes -Wc,"$(WARN) $(EXTRA_CFLAGS)" \
	    $(if $(EXTRA_LDFLAGS),-Wl$(comma)$(EXTRA_LDFLAGS)) \
	    -o mod_blinkauth.la mod_blinkauth.c $(GLUE_SRC) $(CORE_SRC) $(LIBS) >build/apxs.log 2>&1 \
	    || { cat build/apxs.log; exit 1; }
	@grep -E "warning:|error:" build/apxs.log || true

comma := ,

deps:
	@scripts/deps.sh test

# --- make install / make uninstall: the .so and the two mods-available files, all under
# $(DESTDIR) (staging) when it is set. Neither runs a2enmod/a2dismod.  `make deb` builds the
# Debian package (build/deb/) with dpkg-buildpackage, see debian/ and scripts/build-deb.sh.
APACHE_CONFDIR ?= /etc/apache2
INSTALLED := $(DESTDIR)$(LIBEXECDIR)/mod_blinkauth.so \
             $(DESTDIR)$(APACHE_CONFDIR)/mods-available/blinkauth.load \
             $(DESTDIR)$(APACHE_CONFDIR)/mods-available/blinkauth.conf
ENABLED   := $(DESTDIR)$(APACHE_CONFDIR)/mods-enabled/blinkauth.load
# Stops install/uninstall into the live system when the Debian package owns the module.
NOT_PACKAGED = @if [ -z "$(DESTDIR)" ] && dpkg-query -S $(LIBEXECDIR)/mod_blinkauth.so >/dev/null 2>&1; then \
	echo "$@: $(LIBEXECDIR)/mod_blinkauth.so belongs to the package libapache2-mod-blinkauth: use apt-get"; exit 1; fi

.PHONY: uninstall deb
install: $(MODULE)
	@test -n "$(LIBEXECDIR)" || { echo "install: apxs not found (apt-get install apache2-dev)"; exit 1; }
	$(NOT_PACKAGED)
	install -D -m 644 $(MODULE) $(DESTDIR)$(LIBEXECDIR)/mod_blinkauth.so
	install -D -m 644 conf/blinkauth.load $(DESTDIR)$(APACHE_CONFDIR)/mods-available/blinkauth.load
	install -D -m 644 conf/blinkauth.conf $(DESTDIR)$(APACHE_CONFDIR)/mods-available/blinkauth.conf
	@echo "install: done; make install does not run a2enmod: enable with  a2enmod blinkauth"

uninstall:
	@test -n "$(LIBEXECDIR)" || { echo "uninstall: apxs not found (apt-get install apache2-dev)"; exit 1; }
	$(NOT_PACKAGED)
	@if [ -e $(ENABLED) ] || [ -L $(ENABLED) ]; then \
	    echo "uninstall: blinkauth is enabled ($(ENABLED)); make uninstall does not run a2dismod:"; \
	    echo "uninstall: run  a2dismod blinkauth  first (and reload apache2)"; exit 1; fi
	rm -f $(INSTALLED)

deb:
	@scripts/build-deb.sh

# --- C unit tests (Check): every tests/unit/check_*.c is its own binary, linked with the core.
UNIT_SRC  := $(sort $(wildcard tests/unit/check_*.c))
UNIT_BIN  := $(patsubst tests/unit/%.c,build/unit/%,$(UNIT_SRC))
UNIT_HELP := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
UNIT_CFLAGS := $(WARN) $(EXTRA_CFLAGS) -g -O1 -I. -Imodules -Itests/unit -I$(INCLUDEDIR) $(APR_CFLAGS)

build/unit/%: tests/unit/%.c $(CORE_SRC) $(CORE_HDR) $(UNIT_HELP) $(wildcard tests/unit/*.h)
	@mkdir -p build/unit
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_HELP) $(CORE_SRC) $(LIBS) $(APR_LIBS) $(shell pkg-config --libs check) -lpthread

test-unit: $(UNIT_BIN)
	@tests/unit/run.sh $(UNIT_BIN)

test-config: $(MODULE)
	@tests/config/run.sh

test-apache: $(MODULE)
	@tests/run-apache-tests.sh

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory all
	@tests/run-all.sh

run:
	@scripts/deps.sh run
	@$(MAKE) --no-print-directory all
	@scripts/run-sandbox.sh

# Optional pieces (fuzzing, sanitizers, benchmarks, load) each keep their targets in mk/*.mk.
-include $(sort $(wildcard mk/*.mk))

clean:
	rm -rf .libs build modules/.libs *.la *.lo *.slo *.o modules/*.lo modules/*.slo modules/*.o glue/*.lo glue/*.slo glue/*.o \
	       routes/*.lo routes/*.slo routes/*.o modules/.libs glue/.libs routes/.libs \
	       tests/t/logs tests/t/conf/extra.conf tests/t/conf/apache_test_config.pm tests/t/TEST \
	       tests/t/conf/httpd.conf tests/t/htdocs/index.html
