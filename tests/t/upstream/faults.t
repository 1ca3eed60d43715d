# Failing upstreams: the token endpoint, userinfo and the Blink API (add / get / delete) refusing
# connections, hanging, dripping, failing, rate-limiting, answering garbage, 50 MB or a redirect, and
# TLS with a certificate from a CA only BlinkAuthCAFile trusts. What t/callback and t/disconnect
# already cover is not repeated here.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp t_start_error_log_watch t_finish_error_log_watch);
use IO::Socket::INET ();
use Time::HiRes ();
use lib 't/lib';
use BlinkTest;

plan tests => 171, need_lwp;

my $WITNESS = "http://127.0.0.1:$ENV{BLINK_FAKE_WITNESS_PORT}";
my $TIMEOUT = 2;    # BlinkAuthTimeout of /blink in extra.conf.in

# What the person is told: who failed, and to try again in a moment (no answer, 5xx, 429) or to tell the
# administrator (an answer this app cannot use, a redirect).
my $WAIT = qr/(could not be reached or had a problem|did not answer in time).*try again in a moment/s;
my $ADMIN = qr/not set up correctly.*Please tell your administrator/s;
my %SAYS = (token => qr/^.*The external service $WAIT/s, userinfo => qr/The external service $WAIT/s,
            add => qr/Blink $WAIT/s);

# Forgets what every fake recorded, stored and was told.
sub reset_all {
    fake_reset();
    fake_call($_, POST => '/_control/reset', {}) for qw(witness tls_blink);
}

# How many requests a fake saw for a route.
sub seen {
    my ($which, $route) = @_;
    return scalar grep { $_ eq $route } @{ fake_routes($which) };
}

sub revoked { scalar @{ fake_get('provider', '/_control/revoked') } }
sub linked  { scalar @{ accounts_of() } }

# A connect through the app at prefix, up to the callback URL the provider sends the browser to.
sub fresh_callback {
    my ($prefix) = @_;
    return callback_url_for(start_connect(prefix => $prefix // '/blink'));
}

# A linked account for USER, made through the main app; returns its id.
sub linked_account {
    my $res = browser_get(fresh_callback());
    die 'connect failed: ' . $res->content unless $res->code == 200;
    my ($la) = @{ accounts_of(USER) };
    return $la->{id};
}

# Runs code (a request) under an error-log watch; returns (its result, elapsed seconds, mod_blinkauth's lines).
sub watched {
    my ($code) = @_;
    t_start_error_log_watch();
    my $t0 = Time::HiRes::time();
    my $res = $code->();
    my $elapsed = Time::HiRes::time() - $t0;
    return ($res, $elapsed, join '', log_lines_of(t_finish_error_log_watch()));
}

# Asserts a callback page: status and its sentence.
sub is_page {
    my ($res, $status, $text, $what) = @_;
    ok t_cmp($res->code, $status, "$what: status");
    ok t_cmp($res->content, $text, "$what: the page says so");
}

# Asserts a JSON answer: status and envelope code.
sub is_json {
    my ($res, $status, $code, $what) = @_;
    ok t_cmp($res->code, $status, "$what: status");
    ok t_cmp((json_of($res) // {})->{code}, $code, "$what: code $code");
}

# Asserts that an elapsed time shows the configured timeout cut the call off: no sooner (it did
# wait for the upstream) and far sooner than the fake's 30 s. A generous bound, not a benchmark.
sub cut_at_timeout {
    my ($elapsed, $log, $what) = @_;
    ok t_cmp($elapsed >= $TIMEOUT - 0.1 && $elapsed < $TIMEOUT + 8 ? 'cut off' : sprintf('%.1f s', $elapsed),
             'cut off', "$what: answered after the ${TIMEOUT} s timeout, not the upstream's 30 s");
    # The app, the step, then the cause, then the time once: "Auth ID a-1234: <step> (<METHOD> <URL>): timed out
    # after <n> ms (1 attempt)", without curl's own "after N milliseconds".
    my ($ms) = $log =~ /: Auth ID a-1234: [^:]+ \((?:GET|POST|PATCH|DELETE) [^)]+\): timed out after (\d+) ms \(1 attempt\)/;
    ok t_cmp(defined $ms && $ms >= $TIMEOUT * 1000 - 100 && $ms < ($TIMEOUT + 2) * 1000 ? 'timed out' : $log,
             'timed out', "$what: the log names the app, then the cause, then the ${TIMEOUT} s timeout");
    my ($line) = $log =~ /^([^\n]*timed out[^\n]*)$/m;
    my @times = ($line // '') =~ /(\d+ ms\b|millisecond)/g;
    ok t_cmp(scalar(@times), 1, "$what: the log line says the time once");
}

# Sends a request and then a Connect on the same keep-alive connection: the worker that waited for
# the upstream is serving again. Returns (first status, second status).
sub then_connect_on_same_connection {
    my ($head) = @_;
    my $hostport = vhost_hostport();
    my $sock = IO::Socket::INET->new(PeerAddr => $hostport, Timeout => 30) or die "connect: $!";
    my @status;
    for my $req ("$head\r\nHost: $hostport\r\n\r\n",
                 "POST /blink/auth/a-1234 HTTP/1.1\r\nHost: $hostport\r\nblink-auth-proxysecret: " . SECRET
                 . "\r\nblink-auth-userid: " . USER . "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n") {
        print $sock $req;
        my ($line, $len) = (scalar <$sock>, 0);
        push @status, ($line // '') =~ m{^HTTP/1\.1 (\d+)} ? $1 : 'no answer';
        while (defined(my $h = <$sock>)) {
            $len = $1 if $h =~ /^Content-Length:\s*(\d+)/i;
            last if $h eq "\r\n";
        }
        read $sock, my $body, $len if $len;
    }
    return @status;
}

# --- connection refused (a port with no listener): retried once, then 502; nothing saved
reset_all();
my ($res, $t, $log) = watched(sub { browser_get(fresh_callback('/blink/down-token')) });
is_page($res, 502, $SAYS{token}, 'token endpoint refused');
ok t_cmp($log, qr{BLA00302: callback: Auth ID a-1234: token endpoint \(POST http://127\.0\.0\.1:1/token\): Failed to connect to 127\.0\.0\.1 port 1: [^\d]* after \d+ ms \(2 attempts\)},
         'token endpoint refused: logged with the URL and the one retry');
ok t_cmp(linked(), 0, 'token endpoint refused: nothing saved');

reset_all();
($res, $t, $log) = watched(sub { browser_get(fresh_callback('/blink/down-userinfo')) });
is_page($res, 502, $SAYS{userinfo}, 'userinfo refused');
ok t_cmp($log, qr{BLA00302: callback: Auth ID a-1234: userinfo endpoint \(GET http://127\.0\.0\.1:1/userinfo\): Failed to connect}, 'userinfo refused: logged');
ok t_cmp(revoked() . ' ' . linked(), '2 0', 'userinfo refused: both tokens revoked, nothing saved');

reset_all();
($res, $t, $log) = watched(sub { browser_get(fresh_callback('/blink/down-api')) });
is_page($res, 502, $SAYS{add}, 'Blink API refused on add');
ok t_cmp($log, qr{BLA00302: callback: Auth ID a-1234: Blink list linked accounts \(GET http://127\.0\.0\.1:1/v2/user/u-42/linked-accounts\): Failed to connect},
         'Blink API refused on add: logged (the list before the Add)');
ok t_cmp(revoked() . ' ' . linked(), '2 0', 'Blink API refused on add: both tokens revoked, nothing saved');

reset_all();
my $id = linked_account();
($res, $t, $log) = watched(sub { blink_call(DELETE => "/blink/down-api/linked-accounts/$id") });
is_json($res, 502, 'UPSTREAM_ERROR', 'Blink API refused on disconnect');
ok t_cmp($log, qr{BLA00401: disconnect: Auth ID a-1234: Blink get linked account \(GET http://127\.0\.0\.1:1/v2/}, 'Blink API refused on disconnect: logged');
ok t_cmp(linked() . ' ' . revoked(), '1 0', 'Blink API refused on disconnect: still linked, nothing revoked');

# --- accept, then hang: cut off at BlinkAuthTimeout; the worker serves again afterwards
reset_all();
my $url = fresh_callback();
fake_fault('provider', route => 'userinfo', mode => 'hang', seconds => 30);
($res, $t, $log) = watched(sub { browser_get($url) });
is_page($res, 504, $SAYS{userinfo}, 'userinfo hangs');
cut_at_timeout($t, $log, 'userinfo hangs');
ok t_cmp(revoked() . ' ' . linked(), '2 0', 'userinfo hangs: both tokens revoked, nothing saved');

reset_all();
$id = linked_account();
fake_fault('blink', route => 'get', mode => 'hang', seconds => 30);
($res, $t, $log) = watched(sub { blink_call(DELETE => "/blink/linked-accounts/$id") });
is_json($res, 504, 'UPSTREAM_TIMEOUT', 'Blink get hangs');
cut_at_timeout($t, $log, 'Blink get hangs');
ok t_cmp(linked() . ' ' . revoked(), '1 0', 'Blink get hangs: still linked, nothing revoked');

reset_all();
$url = fresh_callback();
(my $path = $url) =~ s{^http://[^/]+}{};
fake_fault('provider', route => 'token', mode => 'hang', seconds => 30);
my @status = then_connect_on_same_connection("GET $path HTTP/1.1\r\nCookie: " . browser_cookies_for($url));
ok t_cmp("@status", '504 200', 'token endpoint hangs: 504, then the same connection serves a Connect');
reset_all();
$id = linked_account();
fake_fault('blink', route => 'delete', mode => 'hang', seconds => 30);
@status = then_connect_on_same_connection("DELETE /blink/linked-accounts/$id HTTP/1.1\r\nblink-auth-proxysecret: "
                                          . SECRET . "\r\nblink-auth-userid: " . USER);
ok t_cmp("@status", '504 200', 'Blink delete hangs: 504, then the same connection serves a Connect');

# --- a slow drip of bytes (one every 0.5 s for 30 s): the timeout covers the whole call
for my $case ([provider => 'token'], [provider => 'userinfo'], [blink => 'add']) {
    my ($which, $route) = @$case;
    reset_all();
    $url = fresh_callback();
    fake_fault($which, route => $route, mode => 'drip', seconds => 30, interval => 0.5);
    ($res, $t, $log) = watched(sub { browser_get($url) });
    is_page($res, 504, $SAYS{$route}, "$route drips");
    cut_at_timeout($t, $log, "$route drips");
    ok t_cmp(linked(), 0, "$route drips: nothing saved");
}
reset_all();
$id = linked_account();
fake_fault('blink', route => 'delete', mode => 'drip', seconds => 30, interval => 0.5);
($res, $t, $log) = watched(sub { blink_call(DELETE => "/blink/linked-accounts/$id") });
is_json($res, 504, 'UPSTREAM_TIMEOUT', 'Blink delete drips');
cut_at_timeout($t, $log, 'Blink delete drips');
ok t_cmp(linked(), 1, 'Blink delete drips: still linked');

# --- 5xx answers: no retry without Retry-After; a 503 with Retry-After is retried once
reset_all();
$url = fresh_callback();
fake_fault('provider', route => 'userinfo', mode => 'status', status => 503);
is_page(browser_get($url), 502, $SAYS{userinfo}, 'userinfo 503');
ok t_cmp(seen(provider => 'userinfo') . ' ' . linked(), '1 0', 'userinfo 503: asked once, nothing saved');

reset_all();
$url = fresh_callback();
fake_fault('provider', route => 'token', mode => 'status', status => 503, headers => { 'Retry-After' => '1' });
is_page(browser_get($url), 200, qr/Connected/, 'token endpoint 503 with Retry-After 1: retried');
ok t_cmp(seen(provider => 'token') . ' ' . linked(), '2 1', 'token endpoint 503 with Retry-After: asked twice, saved');

reset_all();
$id = linked_account();
fake_fault('blink', route => 'delete', mode => 'status', status => 504);
($res, $t, $log) = watched(sub { blink_call(DELETE => "/blink/linked-accounts/$id") });
is_json($res, 502, 'UPSTREAM_ERROR', 'Blink delete answers 504');
ok t_cmp($log, qr/BLA00401: .*answered HTTP 504/, 'Blink delete answers 504: logged with the status');
ok t_cmp(linked() . ' ' . revoked(), '1 2', 'Blink delete answers 504: still linked, the tokens revoked before');

# --- 429 with and without Retry-After
for my $case (['none', {}, 502, 1], ['1', { 'Retry-After' => '1' }, 200, 2],
              ['60 (past the timeout)', { 'Retry-After' => '60' }, 502, 1],
              ['an HTTP date', { 'Retry-After' => 'Fri, 31 Dec 1999 23:59:59 GMT' }, 502, 1]) {
    my ($ra, $headers, $status, $asked) = @$case;
    reset_all();
    $url = fresh_callback();
    fake_fault('provider', route => 'token', mode => 'status', status => 429, headers => $headers);
    is_page(browser_get($url), $status, $status == 200 ? qr/Connected/ : $SAYS{token}, "token endpoint 429, Retry-After $ra");
    ok t_cmp(seen(provider => 'token'), $asked, "token endpoint 429, Retry-After $ra: asked $asked time(s)");
}
reset_all();
$url = fresh_callback();
fake_fault('provider', route => 'userinfo', mode => 'status', status => 429, headers => { 'Retry-After' => '1' });
is_page(browser_get($url), 200, qr/Connected/, 'userinfo 429 with Retry-After 1: retried');
ok t_cmp(seen(provider => 'userinfo'), 2, 'userinfo 429 with Retry-After: asked twice');

reset_all();
$id = linked_account();
fake_fault('blink', route => 'get', mode => 'status', status => 429);
is_json(blink_call(DELETE => "/blink/linked-accounts/$id"), 502, 'UPSTREAM_ERROR', 'Blink get 429 without Retry-After');
ok t_cmp(seen(blink => 'get') . ' ' . linked(), '1 1', 'Blink get 429: asked once, still linked');

reset_all();
$id = linked_account();
fake_fault('blink', route => 'delete', mode => 'status', status => 429, headers => { 'Retry-After' => '1' });
is_json(blink_call(DELETE => "/blink/linked-accounts/$id"), 200, 'OK', 'Blink delete 429 with Retry-After 1: retried');
ok t_cmp(seen(blink => 'delete') . ' ' . linked() . ' ' . revoked(), '2 0 2',
         'Blink delete 429 with Retry-After: asked twice, deleted, tokens revoked');

# --- truncated JSON
reset_all();
$url = fresh_callback();
fake_fault('provider', route => 'token', mode => 'truncated');
($res, $t, $log) = watched(sub { browser_get($url) });
is_page($res, 500, $ADMIN, 'token answer truncated');
ok t_cmp($log, qr/BLA00302: .*token endpoint .*unusable body/, 'token answer truncated: logged as unusable');
ok t_cmp(seen(provider => 'userinfo') . ' ' . linked(), '0 0', 'token answer truncated: went no further');

reset_all();
$url = fresh_callback();
fake_fault('provider', route => 'userinfo', mode => 'truncated');
is_page(browser_get($url), 500, $ADMIN, 'userinfo truncated');
ok t_cmp(revoked() . ' ' . linked(), '2 0', 'userinfo truncated: tokens revoked, nothing saved');

# Blink stored the account and said so with a 2xx, but its body is unreadable: the status is the answer,
# so the account is saved and its tokens kept.
reset_all();
$url = fresh_callback();
fake_fault('blink', route => 'add', mode => 'truncated');
is_page(browser_get($url), 200, qr/Connected/, 'Blink add answer truncated (a 2xx is saved)');
ok t_cmp(revoked() . ' ' . linked(), '0 1', 'Blink add answer truncated: saved, nothing revoked');

reset_all();
$id = linked_account();
fake_fault('blink', route => 'get', mode => 'truncated');
is_json(blink_call(DELETE => "/blink/linked-accounts/$id"), 502, 'UPSTREAM_ERROR', 'Blink get truncated');
ok t_cmp(seen(blink => 'delete') . ' ' . linked() . ' ' . revoked(), '0 1 0', 'Blink get truncated: nothing deleted or revoked');

reset_all();
$id = linked_account();
fake_fault('blink', route => 'delete', mode => 'truncated');
is_json(blink_call(DELETE => "/blink/linked-accounts/$id"), 200, 'OK', 'Blink delete truncated (the status is the answer)');
ok t_cmp(linked() . ' ' . revoked(), '0 2', 'Blink delete truncated: deleted, tokens revoked');

# --- JSON of the wrong types
reset_all();
$url = fresh_callback();
fake_fault('provider', route => 'userinfo', mode => 'wrong_types');
# Every string claim becomes the integer 12345, sub included: a sub that is not the id_token's (a string) means
# the claims may be another user's (OpenID Connect Core 5.3.2), so nothing is saved.
is_page(browser_get($url), 502, qr/could not be identified/, 'userinfo of the wrong types: its sub is not the id_token\'s');
ok t_cmp(linked() . ' ' . revoked(), '0 2', 'userinfo of the wrong types: nothing saved, tokens revoked');

reset_all();
$url = fresh_callback();
fake_fault('blink', route => 'add', mode => 'wrong_types');
($res, $t, $log) = watched(sub { browser_get($url) });
is_page($res, 200, qr/Connected/, 'Blink add answer of the wrong types (saved: 2xx with a data object)');
ok t_cmp($log, qr/BLA00305: .*\(no id returned\)/, 'Blink add answer of the wrong types: no id is made up');

reset_all();
$id = linked_account();
fake_fault('blink', route => 'get', mode => 'wrong_types');
($res, $t, $log) = watched(sub { blink_call(DELETE => "/blink/linked-accounts/$id") });
is_json($res, 200, 'OK', 'Blink get of the wrong types');
ok t_cmp($log, qr/BLA00407: .*without a string access_token or refresh_token/, 'Blink get of the wrong types: logged');
ok t_cmp(linked() . ' ' . revoked(), '0 0', 'Blink get of the wrong types: deleted; no token of the wrong type is sent to revoke');
ok t_cmp(seen(provider => 'revoke'), 0, 'Blink get of the wrong types: the revocation endpoint is not called with junk');

# --- 50 MB answers: cut at 1 MiB, announced (Content-Length) or not (chunked)
for my $case ([provider => 'token', 'huge_chunked'], [provider => 'userinfo', 'huge'], [blink => 'add', 'huge_chunked']) {
    my ($which, $route, $mode) = @$case;
    reset_all();
    $url = fresh_callback();
    fake_fault($which, route => $route, mode => $mode, bytes => 50 << 20);
    ($res, $t, $log) = watched(sub { browser_get($url) });
    is_page($res, 502, $SAYS{$route}, "$route answers 50 MB ($mode)");
    ok t_cmp($log, qr/BLA00302: .*\): response too large: the body exceeds 1048576 bytes after \d+ ms \(1 attempt\)/, "$route answers 50 MB: logged as too large");
    ok t_cmp(linked(), 0, "$route answers 50 MB: nothing saved");
}
for my $case ([get => 'huge'], [delete => 'huge_chunked']) {
    my ($route, $mode) = @$case;
    reset_all();
    $id = linked_account();
    fake_fault('blink', route => $route, mode => $mode, bytes => 50 << 20);
    ($res, $t, $log) = watched(sub { blink_call(DELETE => "/blink/linked-accounts/$id") });
    is_json($res, 502, 'UPSTREAM_ERROR', "Blink $route answers 50 MB ($mode)");
    ok t_cmp($log, qr/BLA00401: .*response too large/, "Blink $route answers 50 MB: logged as too large");
    ok t_cmp(linked() . ' ' . revoked(), $route eq 'get' ? '1 0' : '1 2',
             "Blink $route answers 50 MB: still linked, " . ($route eq 'get' ? 'nothing revoked' : 'the tokens revoked before'));
}

# --- a redirect to another host is never followed
for my $case ([provider => 'token'], [provider => 'userinfo'], [blink => 'add']) {
    my ($which, $route) = @$case;
    reset_all();
    $url = fresh_callback();
    fake_fault($which, route => $route, mode => 'redirect', location => "$WITNESS/v2/user/u-42/linked-accounts");
    is_page(browser_get($url), 500, $ADMIN, "$route redirects");
    ok t_cmp(scalar @{ fake_routes('witness') } . ' ' . linked(), '0 0', "$route redirects: the other host saw nothing, nothing saved");
}
for my $route (qw(get delete)) {
    reset_all();
    $id = linked_account();
    fake_fault('blink', route => $route, mode => 'redirect', location => "$WITNESS/v2/user/u-42/linked-accounts/$id");
    ($res, $t, $log) = watched(sub { blink_call(DELETE => "/blink/linked-accounts/$id") });
    is_json($res, 502, 'UPSTREAM_ERROR', "Blink $route redirects");
    ok t_cmp($log, qr/BLA00401: .*answered HTTP 302/, "Blink $route redirects: logged as a 302");
    ok t_cmp(scalar @{ fake_routes('witness') } . ' ' . linked(), '0 1', "Blink $route redirects: the other host saw nothing, still linked");
}
reset_all();
$id = linked_account();
fake_fault('provider', route => 'revoke', mode => 'redirect', location => "$WITNESS/revoke", count => 2);
is_json(blink_call(DELETE => "/blink/linked-accounts/$id"), 200, 'OK', 'revocation redirects: the disconnect still succeeds');
ok t_cmp(scalar @{ fake_routes('witness') } . ' ' . revoked(), '0 0', 'revocation redirects: the other host saw nothing');

# --- the connection closed without an answer (twice: on a reused keep-alive connection libcurl
# itself tries once more on a fresh one, as it must for a connection the server had timed out)
for my $case ([provider => 'token'], [blink => 'add']) {
    my ($which, $route) = @$case;
    reset_all();
    $url = fresh_callback();
    fake_fault($which, route => $route, mode => 'close', count => 2);
    is_page(browser_get($url), 502, $SAYS{$route}, "$route closes without answering");
    ok t_cmp(linked(), 0, "$route closes without answering: nothing saved");
}

# --- TLS: a certificate from the suite's test CA, trusted only where BlinkAuthCAFile names it
reset_all();
($res, $t, $log) = watched(sub { browser_get(fresh_callback('/blink/tls-untrusted')) });
is_page($res, 502, $SAYS{add}, 'Blink API with an unknown CA');
ok t_cmp($log, qr{BLA00302: .*Blink list linked accounts \(GET https://127\.0\.0\.1:\d+/v2/user/u-42/linked-accounts\): .*(certificate|SSL)}i,
         'unknown CA: logged as a certificate problem');
ok t_cmp(scalar @{ fake_call(tls_blink => GET => '/_control/requests') } . ' ' . revoked(), '0 2',
         'unknown CA: no request reached the server, the tokens were revoked');

reset_all();
is_page(browser_get(fresh_callback('/blink/tls-trusted')), 200, qr/Connected/, 'Blink API with BlinkAuthCAFile trusting the test CA');
my @tls_accounts = @{ fake_call(tls_blink => GET => '/_control/accounts') };
ok t_cmp(join(',', map { "$_->{user_id}:$_->{auth_id}" } @tls_accounts) . ' ' . linked(), 'u-42:a-1234 0',
         'trusted CA: saved at the TLS Blink API (and not at the plain one)');
$id = $tls_accounts[0]{id} // 'none';
is_json(blink_call(DELETE => "/blink/tls-untrusted/linked-accounts/$id"), 502, 'UPSTREAM_ERROR', 'disconnect, unknown CA');
ok t_cmp(scalar @{ fake_call(tls_blink => GET => '/_control/accounts') }, 1, 'disconnect, unknown CA: still linked');
is_json(blink_call(DELETE => "/blink/tls-trusted/linked-accounts/$id"), 200, 'OK', 'disconnect, trusted CA');
ok t_cmp(scalar @{ fake_call(tls_blink => GET => '/_control/accounts') } . ' ' . revoked(), '0 2',
         'disconnect, trusted CA: deleted at the TLS Blink API, tokens revoked');
