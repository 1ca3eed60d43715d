# What the backend of an AuthType Blink <Location> receives: the access token where BlinkAuthPassToken says (Bearer in
# Authorization, a bare header, or only BLINK_ACCESS_TOKEN), the BLINK_* environment variables (shown by mod_headers as
# X-Env-* headers, extra.conf.in), the request as sent; never the proxy secret or any blink-auth-* header.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BlinkTest;
use BlinkAct;

plan tests => 31, need_lwp;

# The names of the headers whose value holds text, sorted, comma-separated.
sub headers_holding {
    my ($headers, $text) = @_;
    return join ',', sort grep { index($headers->{$_}, $text) >= 0 } keys %$headers;
}

# The names of the blink-auth-* headers, sorted, comma-separated.
sub blink_headers {
    my ($headers) = @_;
    return join ',', sort grep { /^blink-auth-/i } keys %$headers;
}

reset_act();
my $acct = linked_account(expires => 3600);
my $at = $acct->{access_token};

# --- BlinkAuthPassToken Authorization (the default)
my $res = act('/blink/act/some/path?q=1&r=%2F', method => 'POST', body => 'payload',
              headers => { 'Authorization' => 'Basic Y2FsbGVyOm93bg==', 'blink-auth-extra' => 'x',
                           'Blink-Auth-Other' => 'y', 'BLINK-AUTH-LOUD' => 'z', 'X-Keep' => 'kept',
                           'Content-Type' => 'text/plain' });
ok t_cmp($res->code, 200, 'an action: 200');
ok t_cmp(json_of($res)->{path}, '/v1/some/path', 'the backend\'s answer reaches the caller');
my $got = echo_one() // {};
my $h = $got->{headers} // {};
ok t_cmp("$got->{method} $got->{path}?$got->{query} $got->{body}", 'POST /v1/some/path?q=1&r=%2F payload',
         'the method, path, query and body reach the backend');
ok t_cmp($h->{authorization}, "Bearer $at", 'Authorization: Bearer <the account\'s access token>, the caller\'s replaced');
ok t_cmp(headers_holding($h, $at), 'authorization', 'the token is in Authorization only');
ok t_cmp(blink_headers($h), '', 'no blink-auth-* header reaches the backend (any case)');
ok t_cmp(headers_holding($h, SECRET), '', 'the proxy secret is in no header');
ok t_cmp($h->{'x-keep'}, 'kept', 'the caller\'s other headers pass');
ok t_cmp($h->{'x-env-user-id'}, USER, 'BLINK_USER_ID');
ok t_cmp($h->{'x-env-auth-id'}, AUTH_ID, 'BLINK_AUTH_ID');
ok t_cmp($h->{'x-env-external-account-id'}, 'alice@example.test', 'BLINK_EXTERNAL_ACCOUNT_ID');
ok t_cmp($h->{'x-env-expires'}, $acct->{expiry}, 'BLINK_ACCESS_TOKEN_EXPIRES: the expiry, as Blink writes it');

# --- BlinkAuthPassToken X-Service-Token: the bare token
forget_requests();
$res = act('/blink/act-header/x', headers => { 'X-Service-Token' => 'forged-by-the-caller' });
ok t_cmp($res->code, 200, 'X-Service-Token: 200');
$h = (echo_one() // {})->{headers} // {};
ok t_cmp($h->{'x-service-token'}, $at, 'X-Service-Token: the bare access token, the caller\'s replaced');
ok t_cmp(headers_holding($h, $at), 'x-service-token', 'X-Service-Token: the token in that header only');
ok t_cmp(blink_headers($h), '', 'X-Service-Token: no blink-auth-* header');
ok t_cmp($h->{'x-env-user-id'}, USER, 'X-Service-Token: the environment is set too');

# --- BlinkAuthPassToken env: no header, BLINK_ACCESS_TOKEN
forget_requests();
$res = act('/blink/act-env/x');
ok t_cmp($res->code, 200, 'env: 200');
$h = (echo_one() // {})->{headers} // {};
ok t_cmp($h->{'x-env-access-token'}, $at, 'env: BLINK_ACCESS_TOKEN holds the access token');
ok t_cmp(headers_holding($h, $at), 'x-env-access-token', 'env: no header of the module\'s holds it');
ok t_cmp(blink_headers($h), '', 'env: no blink-auth-* header');
ok t_cmp(join(' ', map { $h->{"x-env-$_"} // '(unset)' } qw(user-id auth-id external-account-id expires)),
         join(' ', USER, AUTH_ID, 'alice@example.test', $acct->{expiry}), 'env: the other variables');

# --- an account without an expiry: BLINK_ACCESS_TOKEN_EXPIRES unset, the token used as it is
reset_act();
$acct = linked_account(expires => undef);
ok t_cmp(act('/blink/act/x')->code, 200, 'no expiry: 200');
$h = (echo_one() // {})->{headers} // {};
ok t_cmp($h->{'x-env-expires'} // '(unset)', '(unset)', 'no expiry: BLINK_ACCESS_TOKEN_EXPIRES unset');
ok t_cmp($h->{authorization}, "Bearer $acct->{access_token}", 'no expiry: the token used as it is');
ok t_cmp(scalar @{ refreshes() }, 0, 'no expiry, no copy: no refresh');

# --- a user id that is not the one with the account: that user's own answer, not u-42's token
forget_requests();
ok t_cmp(act('/blink/act/x', user => 'u-nobody')->code, 403, 'another user: 403');
nothing_proxied('another user');

# --- a repeated Authorization from the caller: one header reaches the backend, ours
forget_requests();
my $raw = raw_request("GET /blink/act/x HTTP/1.1\r\nHost: localhost\r\nblink-auth-proxysecret: " . SECRET
                      . "\r\nblink-auth-userid: " . USER . "\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n"
                      . "Connection: close\r\n");
ok t_cmp($raw->{status}, 200, 'two Authorization headers from the caller: 200');
ok t_cmp(backend_authorization(), "Bearer $acct->{access_token}",
         'two Authorization headers from the caller: the backend sees ours alone');
ok t_cmp(($raw->{headers}{'content-type'} // ''), qr{^application/json}, 'the backend\'s Content-Type reaches the caller');
