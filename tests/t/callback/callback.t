# GET <location>/callback: code exchange, account identifier, Add User Linked Account.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use Apache::TestUtil qw(t_start_error_log_watch t_finish_error_log_watch);
use lib 't/lib';
use BlinkTest;
use LWP::UserAgent ();
use JSON::PP ();
use HTTP::Request ();

plan tests => 240, need_lwp;
my $accounts_of_1e13;

my $EXPIRED = qr/expired or was already used/;

# Asserts a callback page: status, text, HTML with a strict CSP and no caching.
sub is_page {
    my ($res, $status, $text, $what) = @_;
    ok t_cmp($res->code, $status, "$what: status");
    ok t_cmp($res->content, $text, "$what: page says so");
    ok t_cmp($res->header('Content-Type') . ' ' . ($res->header('Content-Security-Policy') // '') . ' '
             . ($res->header('Cache-Control') // ''), qr{^text/html; charset=utf-8 default-src 'none'.* no-store$},
             "$what: HTML, CSP, no-store");
}

# Asserts how many linked accounts the fake Blink holds in all.
sub saved {
    my ($n, $what) = @_;
    ok t_cmp(scalar @{ accounts_of() }, $n, "$what: $n linked account(s) in Blink");
}

# One connect up to the callback URL the provider sends the browser to.
sub fresh_callback { callback_url_for(start_connect(@_)) }

# --- the whole success path
fake_reset();
my $cb = fresh_callback();
ok t_cmp($cb, qr{^http://[^/]+/blink/callback\?code=[^&]+&state=[A-Za-z0-9_-]{43}$}, 'provider redirects to us');
my $res = browser_get($cb);
is_page($res, 200, qr{Connected as alice\@example\.test}, 'success');
my $accounts = accounts_of(USER);
ok t_cmp(scalar @$accounts, 1, 'one linked account for the user');
my $la = $accounts->[0] // {};
ok t_cmp($la->{auth_id}, AUTH_ID, 'auth_id saved');
ok t_cmp($la->{external_account_id}, 'alice@example.test', 'account id from the configured claim (email)');
ok t_cmp($la->{expiry}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'expiry in RFC 3339 UTC');
ok t_cmp($la->{reauth_required}, JSON::PP::false, 'reauth_required false');
my ($issued) = grep { $_->{type} eq 'access' } @{ fake_get('provider', '/_control/tokens') };
ok t_cmp($la->{access_token}, $issued->{token}, 'the issued access token saved');
ok t_cmp($la->{refresh_token}, qr/\S/, 'refresh token saved');
my ($token_req) = @{ fake_get('provider', '/_control/requests?route=token') };
ok t_cmp($token_req->{headers}{authorization}, qr/^Basic /, 'confidential client authenticates with Basic');
ok t_cmp(join(',', sort keys %{ $token_req->{form} }), 'code,code_verifier,grant_type,redirect_uri',
         'token request carries exactly the code, verifier, grant type and redirect URI');
my ($ui) = @{ fake_get('provider', '/_control/requests?route=userinfo') };
ok t_cmp($ui->{headers}{authorization}, "Bearer $issued->{token}", 'userinfo called with the access token');
my ($add) = @{ fake_get('blink', '/_control/requests?route=add') };
ok t_cmp($add->{path}, '/v2/user/u-42/linked-accounts', 'Add User Linked Account path');
ok t_cmp(join(',', sort keys %{ $add->{json} }),
         'access_token,auth_id,expiry,external_account_id,reauth_required,refresh_token', 'exact fields sent to Blink');

# --- the state: single use, unknown, tampered, malformed, expired
is_page(browser_get($cb), 200, qr/Already connected.*as alice\@example\.test/s, 'replayed state, same browser');
is_page(LWP::UserAgent->new(max_redirect => 0)->get($cb), 400, $EXPIRED, 'replayed state, another browser');
ok t_cmp(scalar @{ fake_get('provider', '/_control/requests?route=token') }, 1, 'replays: the code was exchanged once');
saved(1, 'replay');
(my $tampered = $cb) =~ s/state=(.)/'state=' . ($1 eq 'A' ? 'B' : 'A')/e;
my $cb2 = fresh_callback();
($tampered = $cb2) =~ s/(state=.{42})(.)/$1 . ($2 eq 'A' ? 'B' : 'A')/e;
is_page(browser_get($tampered), 400, $EXPIRED, 'tampered state');
my $base = Apache::TestRequest::resolve_url('/blink/callback');
is_page(browser_get("$base?code=x&state=" . ('A' x 43)), 400, $EXPIRED, 'unknown state');
is_page(browser_get("$base?code=x"), 400, $EXPIRED, 'no state');
is_page(browser_get("$base?code=x&state=abc"), 400, $EXPIRED, 'short state');
is_page(browser_get("$base?code=x&state=" . ('A' x 4000)), 400, $EXPIRED, '4 KB state');
ok t_cmp(browser_get("$base?code=x&state=" . ('A' x 10000))->code, 414, '10 KB state: httpd\'s LimitRequestLine');
(my $twice = $cb2) =~ s/&state=(.*)$/&state=$1&state=$1/;
is_page(browser_get($twice), 400, $EXPIRED, 'repeated state');
for my $m (qw(HEAD POST)) {
    my $r = LWP::UserAgent->new(max_redirect => 0)->request(HTTP::Request->new($m => $cb2));
    ok t_cmp($r->code . ' ' . ($r->header('Allow') // ''), qr/^405 GET/, "$m on the callback: 405, spends nothing");
}
is_page(browser_get($cb2), 200, qr/Connected.*the existing connection was renewed/,
        'the untampered state still works once, renewing the same external account');
saved(1, 'after the refusals, the same external account');
ok t_cmp(scalar @{ fake_get('blink', '/_control/requests?route=update') }, 1, 'the second connect updated the account');
ok t_cmp(accounts_of(USER)->[0]{access_token},
         (grep { $_->{type} eq 'access' } @{ fake_get('provider', '/_control/tokens') })[-1]{token},
         'Blink holds the newest access token');
my $late = fresh_callback();
sleep 4;    # BlinkAuthStateTimeout is 3 in the test configuration
is_page(browser_get($late), 400, $EXPIRED, 'expired state');
saved(1, 'expired');

# --- only the browser that opened the start URL may finish the connect, and another one does not use it up
fake_reset();
browser_forget();
$cb = fresh_callback();
my $cookie = browser_cookies_for($cb);
ok t_cmp($cookie, qr/^blinkauth-[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]{43}$/, 'the browser holds the start URL\'s cookie');
browser_forget();
t_start_error_log_watch();
is_page(browser_get($cb), 400, qr/started in another browser/, 'a callback from a browser without the cookie');
ok t_cmp(join('', grep { /BLA00309/ } t_finish_error_log_watch()), qr/sent no cookie of this connect/,
         'another browser: logged');
(my $forged = $cookie) =~ s/=.*/=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/;
my $ua = LWP::UserAgent->new(max_redirect => 0, timeout => 30);
is_page($ua->get($cb, Cookie => $forged), 400, qr/started in another browser/, 'a callback with another cookie value');
ok t_cmp(scalar @{ fake_get('provider', '/_control/requests?route=token') }, 0,
         'other browsers: no code exchanged');
is_page($ua->get($cb, Cookie => $cookie), 200, qr/Connected as alice\@example\.test/,
        'the browser that opened the start URL still finishes it');
saved(1, 'browser binding');

# --- an id_token or claims that do not prove the user: 502, the tokens revoked, nothing saved
for my $case (['an id_token of another issuer', { id_token_claims => { iss => 'https://evil.example' } }, qr/iss is 'https:\/\/evil\.example'/],
              ['an expired id_token', { id_token_claims => { exp => 1000000000 } }, qr/the id_token expired/],
              ['an id_token for another client', { id_token_claims => { aud => 'someone-else' } }, qr/aud does not name/],
              ['an e-mail the service does not call verified', undef, qr/e-mail is not verified/]) {
    my ($what, $options, $log) = @$case;
    fake_reset();
    fake_post('provider', '/_control/options', $options) if $options;
    fake_post('provider', '/_control/user', { sub => 'user-123', email => 'alice@example.test', email_verified => JSON::PP::false })
        unless $options;
    my $url = fresh_callback();
    t_start_error_log_watch();
    is_page(browser_get($url), 502, qr/could not be identified/, $what);
    ok t_cmp(join('', grep { /BLA00302/ } t_finish_error_log_watch()), $log, "$what: the log says why");
    ok t_cmp(scalar @{ fake_get('provider', '/_control/revoked') }, 2, "$what: both tokens revoked");
    saved(0, $what);
}
fake_reset();

# --- the provider's own error
fake_reset();
fake_post('provider', '/_control/deny', { error => 'access_denied', error_description => 'no' });
is_page(browser_get(fresh_callback()), 200, qr/You cancelled the connection/, 'user refused consent');
(my $evil = fresh_callback()) =~ s/code=[^&]+/error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&error_description=%3Cb%3E/;
$res = browser_get($evil);
is_page($res, 502, qr/did not grant access \(\(unreadable\)\)/, 'other provider error');
ok t_cmp($res->content =~ /<script|<b>/ ? 'reflected' : 'escaped', 'escaped', 'error text never reflected raw');
saved(0, 'provider errors');
for my $case (['invalid_scope', 500, qr/not set up correctly.*tell your administrator/is],
              ['temporarily_unavailable', 502, qr/try again in a moment/],
              ['invalid_grant', 502, qr/did not grant access \(invalid_grant\)/]) {
    my ($error, $status, $says) = @$case;
    (my $sent_back = fresh_callback()) =~ s/code=[^&]+/error=$error/;
    is_page(browser_get($sent_back), $status, $says, "provider error=$error");
}
# The provider's words reach the error log (bounded, quotes and control characters replaced), not the page.
(my $described = fresh_callback()) =~ s/code=[^&]+/error=invalid_request&error_description=nonce%20%22required%22%0Aforged%20line/;
t_start_error_log_watch();
$res = browser_get($described);
ok t_cmp(join('', grep { /BLA00304/ } t_finish_error_log_watch()),
         qr/error=invalid_request error_description="nonce \?required\?\?forged line"/,
         'error_description logged, escaped, on the one failure line');
ok t_cmp($res->content =~ /nonce/ ? 'shown' : 'not shown', 'not shown', 'error_description is not shown to the user');

# A lifetime of 1e13 seconds (it overflowed, and sent Blink the year -265640) is read as ten years.
fake_reset();
fake_post('provider', '/_control/options', { expires_in => 10000000000000 });
is_page(browser_get(fresh_callback()), 200, qr/Connected/, 'expires_in of 1e13');
my ($year) = (($accounts_of_1e13 = accounts_of(USER))->[0]{expiry} // '') =~ /^(\d{4})-/;
ok t_cmp(($year // 0) - (gmtime)[5] - 1900, 10, 'expiry clamped to ten years from now');
fake_reset();

# --- the token endpoint failing
# Each page tells who failed and what to do: start again, wait a moment, or tell the administrator.
my $AGAIN = qr/did not accept the login.*click Connect again/s;
my $WAIT = qr/could not be reached or had a problem.*not your doing: try again in a moment/s;
my $ADMIN = qr/not set up correctly.*trying again will not help. Please tell your administrator/s;
for my $case ([status => { status => 400, body => '{"error":"invalid_grant"}' }, 502, $AGAIN],
              [status => { status => 400, body => '{"error":"invalid_client"}' }, 500, $ADMIN],
              [status => { status => 401, body => '{"error":"invalid_client"}' }, 500, $ADMIN],
              [status => { status => 400, body => '{"error":"unauthorized_client"}' }, 500, $ADMIN],
              [status => { status => 500 }, 502, $WAIT],
              [status => { status => 503 }, 502, $WAIT],
              [hang => { seconds => 5 }, 504, qr/did not answer in time.*try again in a moment/s],
              [close => {}, 502, $WAIT],
              [garbage => {}, 500, $ADMIN],
              [wrong_types => {}, 500, $ADMIN],
              [huge => { bytes => 2 * 1024 * 1024 }, 502, $WAIT]) {
    my ($mode, $extra, $status, $says) = @$case;
    my $url = fresh_callback();
    fake_fault('provider', route => 'token', mode => $mode, %$extra);
    is_page(browser_get($url), $status, $says, "token endpoint $mode $status");
}
saved(0, 'token endpoint failures');

# --- userinfo failing: the tokens are revoked, nothing saved
my $url = fresh_callback();
fake_fault('provider', route => 'userinfo', mode => 'status', status => 500);
is_page(browser_get($url), 502, $WAIT, 'userinfo 500');
ok t_cmp(scalar @{ fake_get('provider', '/_control/revoked') } >= 2 ? 'revoked' : 'kept', 'revoked',
         'tokens revoked after a userinfo failure');
saved(0, 'userinfo failure');

# --- Blink failing: nothing saved, tokens revoked
for my $case ([401, 500, $ADMIN], [500, 502, $WAIT], [429, 502, $WAIT], [400, 502, qr/Blink did not accept/]) {
    my ($status, $page, $says) = @$case;
    fake_reset();
    my $url = fresh_callback();
    fake_fault('blink', route => 'add', mode => 'status', status => $status, count => 2);
    is_page(browser_get($url), $page, $says, "Blink $status");
    ok t_cmp(scalar @{ fake_get('provider', '/_control/revoked') }, 2, "Blink $status: both tokens revoked");
    saved(0, "Blink $status");
}
fake_reset();
$url = fresh_callback();
fake_fault('blink', route => 'add', mode => 'hang', seconds => 5);
is_page(browser_get($url), 504, qr/Blink did not answer in time/, 'Blink timeout, nothing saved');
ok t_cmp(scalar @{ fake_get('provider', '/_control/revoked') }, 2, 'Blink timeout, read back absent: tokens revoked');
saved(0, 'Blink timeout');
fake_reset();
$url = fresh_callback();
fake_fault('blink', route => 'add', mode => 'status', status => 429, headers => { 'Retry-After' => '1' });
is_page(browser_get($url), 200, qr/Connected/, 'Blink 429 with Retry-After: retried once, then saved');
saved(1, 'after the retried 429');

# --- Blink's answer lost after it saved: reading back finds the account, nothing is revoked
for my $case ([add => { then => 'hang', seconds => 4 }], [add => { then => 'close' }],
              [add => { then => 'status', status => 500 }],
              [add => { then => 'status', status => 201, body => '{"code":"OK","message":"OK"}' }]) {
    my ($route, $how) = @$case;
    my $what = "Blink $route commits, then " . join(' ', map { "$_=$how->{$_}" } sort keys %$how);
    fake_reset();
    my $url = fresh_callback();
    fake_fault('blink', route => $route, mode => 'commit', %$how);
    is_page(browser_get($url), 200, qr/Connected as alice/, $what);
    ok t_cmp(scalar @{ fake_get('provider', '/_control/revoked') }, 0, "$what: nothing revoked");
    saved(1, $what);
    ok t_cmp(scalar @{ fake_get('blink', '/_control/requests?route=add') }, 1, "$what: Add sent once");
}
# Lost, and reading back fails too: nothing is revoked, the page says it is not sure. The first list (before
# the Add) answers; the second fails.
fake_reset();
$url = fresh_callback();
fake_fault('blink', route => 'add', mode => 'commit', then => 'status', status => 502);
fake_fault('blink', route => 'list', mode => 'status', status => 200,
           body => '{"code":"OK","message":"OK","data":[]}', count => 1);
fake_fault('blink', route => 'list', mode => 'status', status => 500, count => 2);
t_start_error_log_watch();
is_page(browser_get($url), 502, qr/Not sure it is connected.*Look at the app in Blink/s, 'lost Add, read back fails');
ok t_cmp(join('', grep { /BLA00311/ } t_finish_error_log_watch()), qr/cannot be told.*kept, not revoked/,
         'lost Add, read back fails: logged');
ok t_cmp(scalar @{ fake_get('provider', '/_control/revoked') }, 0, 'lost Add, read back fails: nothing revoked');
saved(1, 'lost Add, read back fails');
# Listing fails before anything is written: nothing saved, the tokens revoked.
fake_reset();
$url = fresh_callback();
fake_fault('blink', route => 'list', mode => 'status', status => 500, count => 2);
is_page(browser_get($url), 502, $WAIT, 'Blink list fails first');
ok t_cmp(scalar @{ fake_get('blink', '/_control/requests?route=add') }, 0, 'Blink list fails first: no Add');
ok t_cmp(scalar @{ fake_get('provider', '/_control/revoked') }, 2, 'Blink list fails first: tokens revoked');
# A second connect whose Update is lost after Blink wrote it: read back shows the new token.
fake_reset();
browser_get(fresh_callback());
$url = fresh_callback();
fake_fault('blink', route => 'update', mode => 'commit', then => 'close');
is_page(browser_get($url), 200, qr/existing connection was renewed/, 'lost Update, read back shows it');
saved(1, 'lost Update');
ok t_cmp(scalar @{ fake_get('provider', '/_control/revoked') }, 0, 'lost Update: nothing revoked');
# An Update Blink refuses: the new tokens are revoked, the account keeps the old ones.
fake_reset();
browser_get(fresh_callback());
my $old = accounts_of(USER)->[0]{access_token};
$url = fresh_callback();
fake_fault('blink', route => 'update', mode => 'status', status => 400);
is_page(browser_get($url), 502, qr/Blink did not accept/, 'Update refused');
ok t_cmp(accounts_of(USER)->[0]{access_token}, $old, 'Update refused: Blink keeps the old token');
ok t_cmp(scalar @{ fake_get('provider', '/_control/revoked') }, 2, 'Update refused: the new tokens revoked');
# An account deleted between the list and the Update: added anew.
fake_reset();
browser_get(fresh_callback());
$url = fresh_callback();
fake_fault('blink', route => 'update', mode => 'status', status => 404);
is_page(browser_get($url), 200, qr/Connected as alice/, 'Update finds the account gone: added anew');
saved(2, 'Update 404 (the fault does not delete): a new account');

# --- a second app: public client, account id from the id_token's sub
fake_reset();
my %second = (prefix => '/second', auth_id => 'b-5678',
              headers => { 'blink-auth-proxysecret' => 'second-secret', 'blink-auth-userid' => 'u-7' });
is_page(browser_get(fresh_callback(%second)), 200, qr/Connected as user-123/, 'second app');
$accounts = accounts_of('u-7');
ok t_cmp(join('|', map { "$_->{auth_id}:$_->{external_account_id}" } @$accounts), 'b-5678:user-123',
         'second app saved with its own Auth ID and the id_token sub');
($token_req) = @{ fake_get('provider', '/_control/requests?route=token') };
ok t_cmp(($token_req->{headers}{authorization} // 'none') . " $token_req->{form}{client_id}", 'none public-client',
         'public client sends client_id in the body, no Basic');
fake_post('provider', '/_control/options', { id_token => JSON::PP::false });
is_page(browser_get(fresh_callback(%second)), 502, qr/could not be identified/, 'no id_token and no userinfo');
