# AuthType Blink: who may act (the app's configuration, the proxy secret, the user id), r->user and Require user, and
# which of the user's linked accounts an action uses (extra.conf.in: /blink/act and its neighbours).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use JSON::PP ();
use lib 't/lib';
use BlinkTest;
use BlinkAct;

plan tests => 63, need_lwp;

# --- 1. AuthType Blink in no app: nothing to act with
reset_act();
is_error(act('/unconfigured/act/x'), 500, 'CONFIG_ERROR', 'AuthType Blink in no app');
nothing_proxied('AuthType Blink in no app');

# --- 2. the proxy secret
my $acct = linked_account();
forget_requests();
is_error(act('/blink/act/x', secret => undef), 401, 'UNAUTHORIZED', 'no proxy secret');
is_error(act('/blink/act/x', secret => 'nope'), 401, 'UNAUTHORIZED', 'a wrong proxy secret');
is_error(act('/blink/act/x', secret => 'inner-secret'), 401, 'UNAUTHORIZED', 'another app\'s proxy secret');
ok t_cmp(scalar(@{ lists() }) + scalar(@{ refreshes() }), 0, 'refused callers: neither Blink nor the provider was asked');
nothing_proxied('refused callers');
ok t_cmp(act('/blink/rotating/act/x', secret => 'new-proxy-secret')->code, 200, 'rotating secrets: the new one');
ok t_cmp(act('/blink/rotating/act/x', secret => SECRET)->code, 200, 'rotating secrets: the previous one');
is_error(act('/blink/rotating/act/x', secret => 'inner-secret'), 401, 'UNAUTHORIZED', 'rotating secrets: another one');
ok t_cmp(join(',', map { $_->{path} } @{ echo_seen() }), '/rotating/x,/rotating/x',
         'rotating secrets: both accepted actions reached the backend');

# --- 3. the user id
forget_requests();
is_error(act('/blink/act/x', user => undef), 400, 'BAD_REQUEST', 'no user id');
is_error(act('/blink/act/x', user => ''), 400, 'BAD_REQUEST', 'an empty user id');
is_error(act('/blink/act/x', user => 'u-42, u-7'), 400, 'BAD_REQUEST', 'a user id with a comma');
is_error(act('/blink/act/x', user => '..'), 400, 'BAD_REQUEST', 'the user id ..');
my $twice = raw_request("GET /blink/act/x HTTP/1.1\r\nHost: localhost\r\nblink-auth-proxysecret: " . SECRET
                        . "\r\nblink-auth-userid: u-42\r\nblink-auth-userid: u-42\r\nConnection: close\r\n");
ok t_cmp($twice->{status}, 400, 'the user id header twice: 400');
ok t_cmp((eval { JSON::PP->new->decode($twice->{body}) } // {})->{code}, 'BAD_REQUEST', 'the user id header twice: BAD_REQUEST');
ok t_cmp(scalar @{ lists() }, 0, 'bad user ids: Blink was not asked');
nothing_proxied('bad user ids');

# --- 4. r->user: the access log's %u, and httpd's Require user
ok t_cmp(access_log_user('/blink/act/whoami-4', sub { act('/blink/act/whoami-4') }), USER,
         'the access log names the Blink user (%u = r->user)');
linked_account(user_id => 'u-7');
forget_requests();
ok t_cmp(act('/blink/act-user/x')->code, 200, 'Require user u-42: u-42 may act');
ok t_cmp(backend_authorization(), "Bearer $acct->{access_token}",
         'Require user u-42: with u-42\'s token');
ok t_cmp(act('/blink/act-user/x', user => 'u-7')->code, qr/^40[13]$/, 'Require user u-42: u-7 may not');
ok t_cmp(join(',', map { $_->{path} } @{ echo_seen() }), '/user/x', 'Require user: u-7\'s action did not reach the backend');

# --- 5. the user's linked account for this app
reset_act();
my $body = is_error(act('/blink/act/x'), 403, 'NOT_LINKED', 'no linked account');
ok t_cmp($body->{message}, qr/^Connect your \S.* account in Blink first\b/, 'no linked account: says what to do');
ok t_cmp(scalar @{ lists() }, 1, 'no linked account: Blink was asked (List)');
ok t_cmp(scalar @{ refreshes() }, 0, 'no linked account: the provider was not asked');
nothing_proxied('no linked account');

seed_account(auth_id => 'z-9999', access_token => 'at-of-another-app', refresh_token => 'rt-of-another-app',
             expiry => rfc3339(3600));
is_error(act('/blink/act/x'), 403, 'NOT_LINKED', 'only another app\'s account');
nothing_proxied('only another app\'s account');

my $ours = linked_account();
forget_requests();
ok t_cmp(act('/blink/act/x')->code, 200, 'another app\'s account listed first: 200');
ok t_cmp(backend_authorization(), "Bearer $ours->{access_token}",
         'another app\'s account listed first: ours is used');

reset_act();
linked_account(reauth_required => JSON::PP::true, external_account_id => 'old@example.test');
my $good = linked_account(external_account_id => 'new@example.test');
ok t_cmp(act('/blink/act/x')->code, 200, 'an account to reconnect listed first, a good one second: 200');
my $seen = echo_one() // {};
ok t_cmp($seen->{headers}{authorization}, "Bearer $good->{access_token}", '... the good one is used');
ok t_cmp($seen->{headers}{'x-env-external-account-id'}, 'new@example.test', '... and named in BLINK_EXTERNAL_ACCOUNT_ID');

reset_act();
linked_account(reauth_required => JSON::PP::true);
is_error(act('/blink/act/x'), 401, 'REAUTH_REQUIRED', 'the only account needs reconnecting (its token still fresh)');
ok t_cmp(scalar @{ refreshes() }, 0, 'reauth_required: the provider was not asked');
nothing_proxied('reauth_required');
