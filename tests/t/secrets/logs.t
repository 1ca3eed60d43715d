# Secrets stay secret: the whole flow (connect, a successful callback, failed callbacks, disconnect)
# with LogLevel blinkauth:trace8, then no configured secret, no authorization code, no PKCE verifier
# and no issued token may appear anywhere in the error log or the access log; no state in the error log, which names
# each connect by its ref instead.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use File::Spec ();
use MIME::Base64 ();
use LWP::UserAgent ();
use Digest::SHA ();
use lib 't/lib';
use BlinkTest;

plan tests => 21, need_lwp;

my $t_dir = Apache::Test::vars('t_dir');
my $logs = Apache::Test::vars('t_logs');

my %second = (prefix => '/second', auth_id => 'b-5678',
              headers => { 'blink-auth-proxysecret' => 'second-secret', 'blink-auth-userid' => 'u-7' });
my @callbacks;

# --- the flow
fake_reset();
my $cb = callback_url_for(start_connect());
push @callbacks, $cb;
my $res = browser_get($cb);
ok t_cmp($res->code, 200, 'connect and callback succeed');
ok t_cmp(LWP::UserAgent->new(max_redirect => 0)->get($cb)->code, 400, 'the replayed callback fails in another browser');

# The same external account again: its tokens go to Blink by Update, which is refused here.
$cb = callback_url_for(start_connect());
push @callbacks, $cb;
fake_fault('blink', route => 'update', mode => 'status', status => 400);
ok t_cmp(browser_get($cb)->code, 502, 'a callback whose save in Blink fails (its tokens revoked)');

$cb = callback_url_for(start_connect());
push @callbacks, $cb;
fake_fault('provider', route => 'token', mode => 'status', status => 400,
           body => '{"error":"invalid_grant","error_description":"bad code"}');
ok t_cmp(browser_get($cb)->code, 502, 'a callback whose code the token endpoint refuses');

$cb = callback_url_for(start_connect());
push @callbacks, $cb;
fake_fault('provider', route => 'userinfo', mode => 'hang', seconds => 5);
ok t_cmp(browser_get($cb)->code, 504, 'a callback whose userinfo times out (its tokens revoked)');

$cb = callback_url_for(start_connect(%second));
push @callbacks, $cb;
ok t_cmp(browser_get($cb)->code, 200, 'the second app (public client, id_token) connects');

my $inner = blink_call(POST => '/blink/inner/auth/a-1234',
                       headers => { 'blink-auth-proxysecret' => 'inner-secret', 'blink-auth-userid' => USER });
ok t_cmp($inner->code, 200, 'the nested app connects');
ok t_cmp(blink_call(POST => '/blink/auth/a-1234', headers => { 'blink-auth-proxysecret' => 'inner-secret',
                                                             'blink-auth-userid' => USER })->code,
         401, 'a wrong secret is refused');

my ($la) = @{ accounts_of(USER) };
ok t_cmp(blink_call(DELETE => "/blink/linked-accounts/$la->{id}")->code, 200, 'disconnect');
ok t_cmp(scalar @{ fake_get('provider', '/_control/revoked') } >= 6 ? 'revoked' : 'not revoked', 'revoked',
         'tokens were revoked on the way (so revocation requests were logged too)');

# --- what must not appear
open my $fh, '<', File::Spec->catfile($t_dir, 'conf', 'api-token.txt') or die "api-token.txt: $!";
chomp(my $api_token = <$fh> // '');
close $fh;
my %secret = ('proxy secret' => 's3cret-proxy', 'inner proxy secret' => 'inner-secret',
              'second proxy secret' => 'second-secret', 'API token (file)' => $api_token,
              'API token' => 'api-token-123', 'client secret' => 'client-secret');
my (%code, %verifier, %token, %basic);
for my $url (@callbacks) {
    my $c = query_of($url)->{code};
    $code{"code from $url"} = $c if defined $c;
}
for my $r (@{ fake_get('provider', '/_control/requests?route=token') }) {
    $code{"code $r->{form}{code}"} = $r->{form}{code};
    $verifier{"PKCE verifier $r->{form}{code_verifier}"} = $r->{form}{code_verifier};
    $basic{"Basic credentials $1"} = $1 if ($r->{headers}{authorization} // '') =~ /^Basic (\S+)/;
}
for my $t (@{ fake_get('provider', '/_control/tokens') }) {
    $token{"$t->{type} token $t->{token}"} = $t->{token};
}
ok t_cmp(scalar(keys %code) >= 4 && scalar(keys %verifier) >= 4 && scalar(keys %token) >= 6 && scalar(keys %basic) >= 1
         && length($api_token) >= 8 ? 'collected' : 'too few: ' . join(',', map { scalar keys %$_ } \%code, \%verifier, \%token, \%basic),
         'collected', 'collected the codes, verifiers, tokens and client credentials of the flow');

sleep 1;    # the access log is written after the answer
my $error_log = file_text(File::Spec->catfile($logs, 'error_log'));
my $access_log = file_text(File::Spec->catfile($logs, 'access_log'));
ok t_cmp($error_log, qr/\[blinkauth:debug\].*BLA00203/, 'the error log holds mod_blinkauth\'s debug lines (the level is in effect)');
ok t_cmp($access_log, qr{GET /[^ ]*callback\?code=REDACTED&state=}, 'the access log holds the callbacks, code redacted');

for my $log (['error log', $error_log], ['access log', $access_log]) {
    my ($name, $text) = @$log;
    ok t_cmp(leaked($text, \%secret), 'none', "$name: no configured secret");
    ok t_cmp(leaked($text, { %code, %verifier }), 'none', "$name: no authorization code or PKCE verifier");
    ok t_cmp(leaked($text, { %token, %basic }), 'none', "$name: no issued token, no client credentials");
}

# The states: never in the error log (the access log keeps the callback's query, its code redacted); their refs are.
my %state = map { ("state " . query_of($_)->{state} => query_of($_)->{state}) } @callbacks;
ok t_cmp(leaked($error_log, \%state), 'none', 'error log: no state');
my @refs = map { my $b = MIME::Base64::encode_base64(Digest::SHA::sha256("blinkauth-ref:$_"), ''); $b =~ tr{+/}{-_};
                 substr($b, 0, 10) } values %state;
ok t_cmp(scalar(grep { index($error_log, "[ref=$_ auth_id=") >= 0 } @refs), scalar(@refs),
         'error log: each connect is there under its ref (' . scalar(@refs) . ')');
