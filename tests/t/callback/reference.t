# One reference per connect: every log line of a Connect, its start URL visit and its callback carries the same
# ref (derived from the state, never the state), the Auth ID and the Blink user; the error pages and JSON errors of
# a known flow show it; nothing shows it where no flow is known.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp t_start_error_log_watch t_finish_error_log_watch);
use Digest::SHA ();
use MIME::Base64 ();
use lib 't/lib';
use BlinkTest;

plan tests => 30, need_lwp;

# The ref as README.md defines it: the first 10 characters of base64url(SHA-256("blinkauth-ref:" . state)).
sub ref_of {
    my ($state) = @_;
    my $b64 = MIME::Base64::encode_base64(Digest::SHA::sha256("blinkauth-ref:$state"), '');
    $b64 =~ tr{+/}{-_};
    return substr($b64, 0, 10);
}

# Runs code while watching the error log; returns its result and mod_blinkauth's lines.
sub watched {
    my ($code) = @_;
    t_start_error_log_watch();
    my $res = $code->();
    return ($res, [ log_lines_of(t_finish_error_log_watch()) ]);
}

# The distinct refs of lines, joined.
sub refs_in { my %r = map { /\[ref=([A-Za-z0-9_-]+) / ? ($1 => 1) : () } @_; return join ',', sort keys %r }

# One whole connect: Connect, the start URL visit, the provider, the callback; returns the callback's answer, its
# state, and the lines of each step.
sub one_connect {
    my (%lines, $cb);
    (my $url, $lines{connect}) = watched(sub { start_connect() });
    ((my $provider), $lines{start}) = watched(sub { (open_start($url))[0] });
    $cb = browser_get($provider)->header('Location');
    (my $res, $lines{callback}) = watched(sub { browser_get($cb) });
    return ($res, query_of($cb)->{state}, \%lines);
}

# --- a connect that succeeds
fake_reset();
my ($res, $state, $lines) = one_connect();
ok t_cmp($res->code, 200, 'the connect succeeds');
my $ref = ref_of($state);
my @all = map { @{ $lines->{$_} } } qw(connect start callback);
ok t_cmp(scalar(grep { /BLA00203/ } @{ $lines->{connect} }) . scalar(grep { /BLA00703/ } @{ $lines->{start} })
         . scalar(grep { /BLA00305/ } @{ $lines->{callback} }), '111', 'each step logged its line');
ok t_cmp(refs_in(@all), $ref, 'Connect, start URL and callback log one ref, the one derived from their state');
ok t_cmp(scalar(grep { !/ \[ref=\Q$ref\E auth_id=a-1234[ \]]/ } @all), 0, 'every line of the three carries the ref and the Auth ID');
ok t_cmp(join(' ', map { /user=([^\]]+)\]/ ? $1 : 'none' } grep { /BLA0020[3]|BLA0030[57]/ } @all),
         qr/^u-42( u-42)+$/, 'the Connect and callback lines name the Blink user');
ok t_cmp(length $ref == 10 && $ref ne substr($state, 0, 10) && index($state, $ref) < 0 ? 'apart' : $ref, 'apart',
         'the ref is 10 characters and no piece of the state');
ok t_cmp(join('', @all) =~ /\Q$state\E/ ? 'state logged' : 'no state', 'no state', 'the state is in no log line');
ok t_cmp($res->content =~ /Reference/ ? 'shown' : 'not shown', 'not shown', 'the success page shows no reference');

# --- a connect whose callback fails: the page shows the ref the log shows
fake_reset();
fake_fault('provider', route => 'token', mode => 'status', status => 400, body => '{"error":"invalid_grant"}');
($res, $state, $lines) = one_connect();
ok t_cmp($res->code, 502, 'the failing callback: 502');
my ($shown) = $res->content =~ m{Reference: <code>([A-Za-z0-9_-]+)</code> \x{e2}\x{80}\x{94} give this to your administrator};
ok t_cmp($shown, ref_of($state), 'the failing callback\'s page shows the flow\'s ref');
my ($failed) = grep { /BLA00302/ } @{ $lines->{callback} };
ok t_cmp($failed // '', qr/BLA00302: callback: Auth ID a-1234: token endpoint \(POST [^)]+\) answered HTTP 400: invalid_grant in \d+ ms \[ref=\Q$shown\E auth_id=a-1234 user=u-42\]/,
         'its log line: the app, the step, the cause, then the ref the page shows, the Auth ID and the user');
@all = map { @{ $lines->{$_} } } qw(connect start callback);
ok t_cmp(refs_in(@all), $shown, 'Connect, start URL and the failing callback log that one ref');
ok t_cmp(join('', @all) =~ /\Q$state\E/ ? 'state logged' : 'no state', 'no state', 'the state is in no log line');

# --- the callback with a well-formed state no flow has: a ref (to find the connect by), and none for a bad state
my $base = Apache::TestRequest::resolve_url('/blink/callback');
my $unknown = 'B' x 43;
($res, my $l) = watched(sub { browser_get("$base?code=x&state=$unknown") });
ok t_cmp($res->content, qr{Reference: <code>\Q${\ ref_of($unknown)}\E</code>}, 'an unknown state\'s page shows its ref');
ok t_cmp(join('', @$l), qr/BLA00301: .*\[ref=\Q${\ ref_of($unknown)}\E auth_id=a-1234\]/, 'and its line the same');
for my $q ('code=x', 'code=x&state=abc', "code=x&state=$unknown&state=$unknown") {
    ($res, $l) = watched(sub { browser_get("$base?$q") });
    ok t_cmp(($res->content =~ /Reference/ ? 'ref shown' : 'none') . ' ' . (join('', @$l) =~ /ref=/ ? 'ref logged' : 'none'),
             'none none', "no flow known ($q): no ref on the page or in the log");
}

# --- the start URL: a used link shows the ref of its flow only while the flow is known
my $url = start_connect();
open_start($url);
browser_forget();
($res, $l) = watched(sub { browser_get($url) });
ok t_cmp($res->code . ' ' . ($res->content =~ /Reference/ ? 'ref shown' : 'none'), '400 ref shown',
         'a start URL opened twice: its flow is still there (bound), so its ref is shown');
ok t_cmp(join('', @$l), qr/BLA00701: .*bound to a browser already.*\[ref=[A-Za-z0-9_-]{10} auth_id=a-1234 user=u-42\]/,
         'and its line names the flow and its user');
my $done = start_connect();
ok t_cmp(browser_get(callback_url_for($done))->code, 200, 'another connect completes');
($res, $l) = watched(sub { browser_get($done) });
ok t_cmp($res->code . ' ' . ($res->content =~ /Reference/ ? 'ref shown' : 'none'), '400 ref shown',
         'its start URL opened after the callback: the page, with the ref of the flow the link carries');
ok t_cmp(join('', @$l), qr/BLA00701: start refused: the connect was completed already \[ref=[A-Za-z0-9_-]{10} auth_id=a-1234 user=u-42\]/,
         'and its line says the connect was completed');
($res, $l) = watched(sub { browser_get($url =~ s{/start/.*}{/start/}r . ('A' x 43)) });
ok t_cmp(($res->content =~ /Reference/ ? 'ref shown' : 'none') . ' ' . (join('', @$l) =~ /ref=/ ? 'ref logged' : 'none'),
         'none none', 'an unknown start handle: no ref');

# --- JSON: a Connect error after the state was made carries "ref"; one before it does not
($res, $l) = watched(sub {
    blink_call(POST => '/blink/lat%E9n/auth/l-1', headers => { 'blink-auth-proxysecret' => SECRET, 'blink-auth-userid' => USER })
});
my $json = json_of($res) // {};
ok t_cmp($res->code . ' ' . ($json->{code} // ''), '500 CONFIG_ERROR', 'Connect whose start URL is not UTF-8: 500');
my ($logged) = join('', @$l) =~ /BLA00204: .*\[ref=([A-Za-z0-9_-]{10}) auth_id=l-1 user=u-42\]/;
ok t_cmp($json->{ref}, qr/^[A-Za-z0-9_-]{10}$/, 'its JSON error carries a ref');
ok t_cmp($json->{ref}, $logged, 'the ref its log line carries');
$res = blink_call(POST => '/blink/auth/a-1234', headers => { 'blink-auth-proxysecret' => 'wrong', 'blink-auth-userid' => USER });
$json = json_of($res) // {};
ok t_cmp($res->code . ' ' . (exists $json->{ref} ? 'ref' : 'no ref'), '401 no ref', 'a Connect refused before any state: no ref');
$res = blink_call(POST => '/blink/auth/a-1234');
ok t_cmp($res->content, qr/^\{"code":"OK","message":"OK","data":\{"authorization_url":"[^"]+"\}\}$/,
         'the success envelope stays exactly Blink\'s');

# --- Disconnect: the Auth ID and the user, no ref
($res, $l) = watched(sub { blink_call(DELETE => '/blink/linked-accounts/la-none') });
ok t_cmp(join('', @$l), qr/BLA0040\d: .*\[auth_id=a-1234 user=u-42\]/, 'Disconnect lines carry the Auth ID and the user, no ref');
