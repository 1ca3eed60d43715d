# POST <location>/auth/<auth_id>: Blink's Connect call.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use Apache::TestUtil qw(t_start_error_log_watch t_finish_error_log_watch);
use Apache::TestRequest ();
use lib 't/lib';
use BlinkTest;
use Digest::SHA qw(sha256_base64);

plan tests => 130, need_lwp;

my $hostport = Apache::TestRequest::hostport();
my $provider = "http://127.0.0.1:$ENV{BLINK_FAKE_PROVIDER_PORT}";

# Asserts an error answer: status, JSON envelope with code, JSON content type, no redirect.
sub is_error {
    my ($res, $status, $code, $what) = @_;
    ok t_cmp($res->code, $status, "$what: status");
    my $j = json_of($res);
    ok t_cmp($j && $j->{code}, $code, "$what: code $code");
    ok t_cmp($res->header('Content-Type'), 'application/json; charset=utf-8', "$what: JSON");
}

# --- the proxy secret
is_error(blink_call(POST => '/blink/auth/a-1234', headers => { 'blink-auth-userid' => USER }),
         401, 'UNAUTHORIZED', 'no secret');
is_error(blink_call(POST => '/blink/auth/a-1234',
                    headers => { 'blink-auth-proxysecret' => 'wrong', 'blink-auth-userid' => USER }),
         401, 'UNAUTHORIZED', 'wrong secret');
is_error(blink_call(POST => '/blink/auth/a-1234',
                    headers => { 'blink-auth-proxysecret' => 'S3CRET-PROXY', 'blink-auth-userid' => USER }),
         401, 'UNAUTHORIZED', 'secret differing in case');
is_error(blink_call(POST => '/blink/auth/a-1234',
                    headers => { 'blink-auth-proxysecret' => SECRET . 'x', 'blink-auth-userid' => USER }),
         401, 'UNAUTHORIZED', 'secret one byte longer');
is_error(blink_call(POST => '/blink/auth/b-5678', headers => { 'blink-auth-userid' => USER }),
         401, 'UNAUTHORIZED', 'secret checked before the auth id');

# --- the auth id and the user id
is_error(blink_call(POST => '/blink/auth/b-5678'), 404, 'NOT_FOUND', 'other app\'s auth id');
is_error(blink_call(POST => '/blink/auth/a-12345'), 404, 'NOT_FOUND', 'auth id with a suffix');
is_error(blink_call(POST => '/blink/auth/a-1234', headers => { 'blink-auth-proxysecret' => SECRET }),
         400, 'BAD_REQUEST', 'no user id');
is_error(blink_call(POST => '/blink/auth/a-1234',
                    headers => { 'blink-auth-proxysecret' => SECRET, 'blink-auth-userid' => 'x' x 257 }),
         400, 'BAD_REQUEST', 'user id of 257 bytes');
is_error(blink_call(POST => '/blink/auth/a-1234',
                    headers => { 'blink-auth-proxysecret' => SECRET, 'blink-auth-userid' => "a\tb" }),
         400, 'BAD_REQUEST', 'user id with a control character');
ok t_cmp(blink_call(POST => '/blink/auth/a-1234',
                    headers => { 'blink-auth-proxysecret' => SECRET, 'blink-auth-userid' => 'y' x 256 })->code,
         200, 'user id of 256 bytes is accepted');
is_error(blink_call(POST => '/blink/auth/a-1234',
                    headers => { 'blink-auth-proxysecret' => SECRET, 'blink-auth-userid' => "u-\xe9" }),
         400, 'BAD_REQUEST', 'user id that is not UTF-8 (Latin-1)');
is_error(blink_call(POST => '/blink/auth/a-1234',
                    headers => { 'blink-auth-proxysecret' => SECRET, 'blink-auth-userid' => "u-\xc0\xaf" }),
         400, 'BAD_REQUEST', 'user id with an overlong UTF-8 form');
ok t_cmp(blink_call(POST => '/blink/auth/a-1234',
                    headers => { 'blink-auth-proxysecret' => SECRET, 'blink-auth-userid' => "u-\xc3\xa9" })->code,
         200, 'user id in UTF-8 is accepted');

# --- bodies, methods, unknown routes
is_error(blink_call(POST => '/blink/auth/a-1234', body => 'x' x (64 * 1024 + 1)),
         413, 'PAYLOAD_TOO_LARGE', 'body over 64 KiB');
ok t_cmp(blink_call(POST => '/blink/auth/a-1234', body => '{"any":"thing"}')->code, 200, 'small body accepted');
for my $m (qw(GET PUT DELETE)) {
    my $res = blink_call($m => '/blink/auth/a-1234');
    is_error($res, 405, 'METHOD_NOT_ALLOWED', "$m on the connect route");
    ok t_cmp($res->header('Allow'), qr/^POST/, "$m: Allow names POST");
}
is_error(blink_call(POST => '/blink/nope'), 404, 'NOT_FOUND', 'unknown route');
is_error(blink_call(POST => '/blink/auth/a-1234/more'), 404, 'NOT_FOUND', 'extra path segment');

# --- success
my $res = blink_call(POST => '/blink/auth/a-1234');
ok t_cmp($res->code, 200, 'connect succeeds');
ok t_cmp($res->header('Content-Type'), 'application/json; charset=utf-8', 'JSON content type');
ok t_cmp($res->header('Cache-Control'), 'no-store', 'not cached');
my $j = json_of($res);
ok t_cmp("$j->{code}/$j->{message}", 'OK/OK', 'envelope');
my $start = $j->{data}{authorization_url};
ok t_cmp($start, qr{^http://\Q$hostport\E/blink/start/[A-Za-z0-9_-]{43,}$}, 'authorization URL: our one-time start URL');
# The browser opens it: 303 to the provider, and a cookie the callback will require.
my $opened = browser_get($start);
ok t_cmp($opened->code, 303, 'the start URL sends the browser on (303)');
my %attrs = map { lc } map { /^([^=]+)(?:=(.*))?$/ ? ($1 => $2 // 1) : () } split /;/, ($opened->header('Set-Cookie') // '');
ok t_cmp(join(' ', grep { /^blinkauth-[a-z0-9_-]{16}$/ } keys %attrs), qr/^blinkauth-/, 'the start URL sets a cookie blinkauth-<16>');
ok t_cmp(join(',', map { "$_=" . ($attrs{$_} // '-') } qw(path httponly samesite secure)), 'path=/blink,httponly=1,samesite=lax,secure=-',
         'cookie: the Location\'s path, HttpOnly, SameSite=Lax (plain http: not Secure)');
ok t_cmp($attrs{'max-age'}, 3, 'cookie: lives as long as a connect may take (BlinkAuthStateTimeout 3)');
ok t_cmp($opened->header('Cache-Control'), 'no-store', 'the redirect is not cached');
my $url = $opened->header('Location') // '';
my $again = browser_get($start);
ok t_cmp($again->code . ' ' . ($again->header('Location') // 'no redirect'), '400 no redirect',
         'the start URL works once: a second visit gets a page, not a redirect');
ok t_cmp($again->content, qr/This connect link was already opened/, 'the second visit says so');
ok t_cmp(browser_get("http://$hostport/blink/start/" . ('A' x 43))->code, 400, 'an unknown handle gets the page');
# The handle carries the connect, sealed: one character changed and it opens to nothing.
my $fresh = start_connect();
my $mid = length($fresh) - 100;
(my $altered = $fresh) =~ s{^(.{$mid})(.)}{$1 . ($2 eq 'A' ? 'B' : 'A')}e;
t_start_error_log_watch();
my $tampered = browser_get($altered);
ok t_cmp($tampered->code . ' ' . ($tampered->header('Location') // 'no redirect') . ' '
         . (join('', t_finish_error_log_watch()) =~ /BLA00701: start refused: the start URL's handle does not open/ ? 'logged' : 'not logged'),
         '400 no redirect logged', 'an altered handle: the page, no redirect, and a line that says why');
ok t_cmp(browser_get($fresh)->code, 303, '... and the link it was altered from still works');

# --- a start URL has its own time (BlinkAuthStartTimeout 1 in /blink/quick-start), shorter than the state's (3 s)
my $late_start = start_connect(prefix => '/blink/quick-start');
ok t_cmp(browser_get(start_connect(prefix => '/blink/quick-start'))->code, 303,
         'quick-start: a start URL opened at once sends the browser on');
sleep 2;
t_start_error_log_watch();
my $late = browser_get($late_start);
my $late_lines = join '', t_finish_error_log_watch();
ok t_cmp($late->code . ' ' . ($late->header('Location') // 'no redirect'), '400 no redirect',
         'quick-start: a start URL opened after its BlinkAuthStartTimeout gets the page, not a redirect');
ok t_cmp($late_lines, qr/BLA00701: start refused: the start URL is older than BlinkAuthStartTimeout/,
         'quick-start: and its line says why');

# --- a start URL opened under another <Location> than its Connect's: refused, and the flow is left for its own
my $other_app = start_connect(prefix => '/second', auth_id => 'b-5678',
                              headers => { 'blink-auth-proxysecret' => 'second-secret', 'blink-auth-userid' => USER });
my $quick = start_connect(prefix => '/blink/quick-start');
for my $case ([$other_app, 'another app (/second)'], [$quick, 'a nested <Location> with its own start timeout']) {
    my ($start_url, $what) = @$case;
    (my $elsewhere = $start_url) =~ s{^http://[^/]+/[^?]*?/start/}{http://$hostport/blink/start/};
    t_start_error_log_watch();
    my $res = browser_get($elsewhere);
    my $lines = join '', t_finish_error_log_watch();
    ok t_cmp($res->code . ' ' . ($res->header('Location') // 'no redirect') . ' '
             . ($lines =~ /BLA00701: start refused: the connect was made under another <Location>/ ? 'logged' : 'not logged'),
             '400 no redirect logged', "a start URL of $what opened under /blink: the page, and the line says why");
    ok t_cmp(browser_get($start_url)->code, 303, "... and under its own <Location> it still works");
}
ok t_cmp($url, qr{^\Q$provider\E/authorize\?response_type=code&}, 'authorization URL at the provider');
ok t_cmp($url, qr{client_id=test%20client%261&}, 'client id percent-encoded');
my $q = query_of($url);
ok t_cmp($q->{client_id}, 'test client&1', 'client id');
ok t_cmp($q->{redirect_uri}, "http://$hostport/blink/callback", 'redirect URI derived from the location');
ok t_cmp($q->{scope}, 'openid email offline_access', 'scope');
ok t_cmp($q->{state}, qr/^[A-Za-z0-9_-]{43}$/, 'state: 256 random bits, base64url');
my ($handle) = $start =~ m{/start/([A-Za-z0-9_-]{43,})$};
ok t_cmp($q->{state}, sha256_base64("blinkauth-state:$handle") =~ tr{+/}{-_}r,
         'the state is the hash of the start URL\'s handle: the handle cannot be had from it');
ok t_cmp($q->{code_challenge}, qr/^[A-Za-z0-9_-]{43}$/, 'S256 challenge');
ok t_cmp($q->{code_challenge_method}, 'S256', 'challenge method');
ok t_cmp(exists $q->{code_verifier} ? 'present' : 'absent', 'absent', 'the verifier never leaves the server');
ok t_cmp($q->{nonce}, qr/^[A-Za-z0-9_-]{43}$/, 'a nonce, the scope holding openid');
my $q2 = query_of((open_start(json_of(blink_call(POST => '/blink/auth/a-1234'))->{data}{authorization_url}))[0]);
ok t_cmp($q2->{state} ne $q->{state} && $q2->{code_challenge} ne $q->{code_challenge} ? 'fresh' : 'reused',
         'fresh', 'fresh state and verifier each time');

# --- the origin as the request names it (as ap_construct_url writes it): the port only when it is not the scheme's
# default (a Host without one is on the server's port), an IPv6 address in brackets; the start URL and the redirect
# URI both begin with it
my $port = Apache::Test::vars('port');
for my $case (['apps.example.com', "http://apps.example.com:$port"], ['apps.example.com:80', 'http://apps.example.com'],
              ['apps.example.com:8443', 'http://apps.example.com:8443'], ["[::1]:$port", "http://[::1]:$port"]) {
    my ($host, $origin) = @$case;
    my $start = json_of(blink_call(POST => '/blink/auth/a-1234',
                                   headers => { 'blink-auth-proxysecret' => SECRET, 'blink-auth-userid' => USER,
                                                Host => $host }))->{data}{authorization_url} // 'none';
    ok t_cmp($start, qr{^\Q$origin\E/blink/start/[A-Za-z0-9_-]{43,}$}, "Host $host: the start URL on $origin");
    my $req = HTTP::Request->new(GET => Apache::TestRequest::resolve_url($start =~ s{^\Q$origin\E}{}r));
    $req->header(Host => $host);
    my $opened = LWP::UserAgent->new(max_redirect => 0, timeout => 30)->request($req);
    ok t_cmp(query_of($opened->header('Location') // '')->{redirect_uri} // 'none', "$origin/blink/callback",
             "Host $host: the redirect URI on $origin");
}

# --- a nested location inherits everything but what it sets
is_error(blink_call(POST => '/blink/inner/auth/a-1234'), 401, 'UNAUTHORIZED', 'inner: outer secret refused');
$res = blink_call(POST => '/blink/inner/auth/a-1234',
                  headers => { 'blink-auth-proxysecret' => 'inner-secret', 'blink-auth-userid' => USER });
ok t_cmp($res->code, 200, 'inner: own secret accepted');
ok t_cmp(query_of((open_start(json_of($res)->{data}{authorization_url}))[0])->{redirect_uri},
         "http://$hostport/blink/inner/callback", 'inner: its own redirect URI');

# --- a second app on the same server
my %second = ('blink-auth-proxysecret' => 'second-secret', 'blink-auth-userid' => USER);
is_error(blink_call(POST => '/second/auth/a-1234', headers => \%second), 404, 'NOT_FOUND', 'second: first app\'s id');
$res = blink_call(POST => '/second/auth/b-5678', headers => \%second);
ok t_cmp($res->code, 200, 'second app connects');
$url = json_of($res)->{data}{authorization_url};
ok t_cmp($url, qr{^http://127\.0\.0\.1:\d+/second/start/}, 'second: the start URL on the redirect URI\'s origin');
($url) = open_start($url);
ok t_cmp($url, qr{^\Q$provider\E/authorize\?tenant=t%201&response_type=code&}, 'own query string kept');
$q = query_of($url);
ok t_cmp($q->{client_id}, 'public-client', 'second: client id');
ok t_cmp($q->{redirect_uri}, "http://127.0.0.1:" . Apache::Test::vars('port') . "/second/callback",
         'second: configured redirect URI');
ok t_cmp(exists $q->{scope} ? 'present' : 'absent', 'absent', 'second: no scope when none is set');

# --- the routes are answered from memory, never mapped to files (extra.conf.in: a <Directory> denies all of
# @DocumentRoot@/walled, and the directory exists): neither the walk's 403 nor its <Directory> rules reach them
$res = blink_call(POST => '/walled/auth/w-1');
ok t_cmp($res->code, 200, 'walled: Connect answers where a <Directory> denies the path the URL would map to');
ok t_cmp((open_start(json_of($res)->{data}{authorization_url}))[0], qr{/authorize\?response_type=code&client_id=walled-client&},
         'walled: the authorization URL');
is_error(blink_call(POST => '/walled/auth/w-1/x'), 404, 'NOT_FOUND', 'walled: an unknown route is the module\'s 404');

# --- a Proxy Secret being rotated: BlinkAuthProxySecret new previous
my %rotating = ('blink-auth-userid' => USER);
ok t_cmp(blink_call(POST => '/blink/rotating/auth/a-1234',
                    headers => { %rotating, 'blink-auth-proxysecret' => 'new-proxy-secret' })->code,
         200, 'rotating: the new secret is accepted');
t_start_error_log_watch();
ok t_cmp(blink_call(POST => '/blink/rotating/auth/a-1234', headers => { %rotating, 'blink-auth-proxysecret' => SECRET })->code,
         200, 'rotating: the previous secret is accepted too');
ok t_cmp(join('', grep { /BLA00106/ } t_finish_error_log_watch()), qr/the previous Proxy Secret .* matched/,
         'rotating: the previous secret is logged (at debug)');
is_error(blink_call(POST => '/blink/rotating/auth/a-1234', headers => { %rotating, 'blink-auth-proxysecret' => 'inner-secret' }),
         401, 'UNAUTHORIZED', 'rotating: any other secret is refused');
is_error(blink_call(POST => '/blink/inner/auth/a-1234', headers => { %rotating, 'blink-auth-proxysecret' => 'new-proxy-secret' }),
         401, 'UNAUTHORIZED', 'rotating: a sibling Location does not take the new secret');
