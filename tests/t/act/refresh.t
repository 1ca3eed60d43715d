# When an action refreshes the access token, and how (the main app: no BlinkAuthTokenKey, so every action asks Blink):
# fresh tokens are used as they are; one within BlinkAuthRefreshBefore of its expiry is refreshed once (grant_type
# refresh_token), the provider's rotated refresh token and the new access token are written to Blink (Update), and the
# backend gets the new one; 20 concurrent actions of one user make one refresh.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use JSON::PP ();
use lib 't/lib';
use BlinkTest;
use BlinkAct;

plan tests => 42, need_lwp;

# --- fresh: used as it is
reset_act();
my $acct = linked_account(expires => 3600);
ok t_cmp(act('/blink/act/x')->code, 200, 'a fresh token: 200');
ok t_cmp(scalar @{ refreshes() }, 0, 'a fresh token: no refresh request');
ok t_cmp(scalar @{ updates() }, 0, 'a fresh token: nothing written to Blink');
ok t_cmp(backend_authorization(), "Bearer $acct->{access_token}", 'a fresh token: the backend gets it');

# --- expired: one refresh with rotation, written to Blink, the new token used
reset_act();
provider_options(rotate_refresh => JSON::PP::true, expires_in => 7200);
$acct = linked_account(expires => -60);
my $before = rfc3339(7200);
ok t_cmp(act('/blink/act/x')->code, 200, 'an expired token: 200');
my $after = rfc3339(7200);
my @sent = @{ refreshes() };
ok t_cmp(scalar @sent, 1, 'an expired token: exactly one refresh request');
ok t_cmp(join(' ', map { $_ // '(none)' } @{ $sent[0]{form} // {} }{qw(grant_type refresh_token)}),
         "refresh_token $acct->{refresh_token}", 'the refresh grant, with the account\'s refresh token');
ok t_cmp($sent[0]{headers}{authorization}, qr/^Basic /, 'the client authenticates as for the code exchange (Basic)');
my ($new_at, $new_rt) = (newest_token('access'), newest_token('refresh'));
ok t_cmp($new_rt ne $acct->{refresh_token} ? 'rotated' : 'the same', 'rotated', 'the provider rotated the refresh token');
my $h = (echo_one() // {})->{headers} // {};
ok t_cmp($h->{authorization}, "Bearer $new_at", 'the backend gets the new access token');
my @patch = @{ updates() };
ok t_cmp(scalar @patch, 1, 'one Update (PATCH) in Blink');
ok t_cmp($patch[0]{path}, "/v2/user/u-42/linked-accounts/$acct->{id}", 'the Update of that account');
ok t_cmp(join(',', sort keys %{ $patch[0]{json} // {} }), 'access_token,expiry,reauth_required,refresh_token',
         'the Update sends the tokens, the expiry and reauth_required');
my $now = account_now($acct->{id}) // {};
ok t_cmp("$now->{access_token} $now->{refresh_token}", "$new_at $new_rt",
         'Blink holds the new access token and the rotated refresh token');
ok t_cmp(flag($now->{reauth_required}), 'false', 'Blink holds reauth_required false');
ok t_cmp(($now->{expiry} // '') ge $before && ($now->{expiry} // '') le $after ? 'expires_in from now' : $now->{expiry},
         'expires_in from now', 'the expiry written is the refresh\'s expires_in (7200 s) from now');
ok t_cmp($h->{'x-env-expires'}, $now->{expiry}, 'BLINK_ACCESS_TOKEN_EXPIRES is the new expiry');

forget_requests();
ok t_cmp(act('/blink/act/x')->code, 200, 'the next action: 200');
ok t_cmp(scalar @{ refreshes() }, 0, 'the next action: no refresh (the new token is fresh)');
ok t_cmp(backend_authorization(), "Bearer $new_at", 'the next action: the new token');
ok t_cmp(scalar @{ lists() }, 1, 'the next action: read from Blink (no BlinkAuthTokenKey)');

# --- within BlinkAuthRefreshBefore (default 60 s) of its expiry
reset_act();
$acct = linked_account(expires => 30);
ok t_cmp(act('/blink/act/x')->code, 200, '30 s left: 200');
ok t_cmp(refresh_tokens_sent(), $acct->{refresh_token}, '30 s left: refreshed once');

# --- no rotation: the provider sends no new refresh token, the old one stays
reset_act();
$acct = linked_account(expires => -60);
ok t_cmp(act('/blink/act/x')->code, 200, 'no rotation: 200');
ok t_cmp(scalar @{ refreshes() }, 1, 'no rotation: one refresh');
my ($patch) = @{ updates() };
ok t_cmp(($patch // {})->{json}{refresh_token} // '(not sent)', qr/^(\Q$acct->{refresh_token}\E|\(not sent\))$/,
         'no rotation: the Update keeps the old refresh token (or leaves it out)');
$now = account_now($acct->{id}) // {};
ok t_cmp("$now->{access_token} $now->{refresh_token}", newest_token('access') . " $acct->{refresh_token}",
         'no rotation: Blink holds the new access token and the old refresh token');
ok t_cmp(backend_authorization(), 'Bearer ' . newest_token('access'), 'no rotation: the backend gets the new token');

# --- BlinkAuthRefreshBefore 0 and 3600
reset_act();
linked_account(expires => 30);
ok t_cmp(act('/blink/act-rb0/x')->code, 200, 'BlinkAuthRefreshBefore 0, 30 s left: 200');
ok t_cmp(scalar @{ refreshes() }, 0, 'BlinkAuthRefreshBefore 0: 30 s left is fresh');
$acct = linked_account(user_id => 'u-rb', expires => 1800);
ok t_cmp(act('/blink/act/x', user => 'u-rb')->code . ' ' . scalar @{ refreshes() }, '200 0',
         'BlinkAuthRefreshBefore 60 (default): 30 min left is fresh');
ok t_cmp(act('/blink/act-rb3600/x', user => 'u-rb')->code, 200, 'BlinkAuthRefreshBefore 3600, 30 min left: 200');
ok t_cmp(refresh_tokens_sent(), $acct->{refresh_token}, 'BlinkAuthRefreshBefore 3600: 30 min left is refreshed');

# --- 20 concurrent actions of one user with an expired token: one refresh (made slow, so that they overlap)
reset_act();
provider_options(rotate_refresh => JSON::PP::true);
$acct = linked_account(expires => -60);
fake_fault('provider', route => 'refresh', mode => 'delay', seconds => 1);
my @codes = concurrent_actions(20, '/blink/act/x');
ok t_cmp(join(' ', @codes), join(' ', ('200') x 20), '20 concurrent actions: 20 x 200');
ok t_cmp(scalar @{ refreshes() }, 1, '20 concurrent actions: exactly one refresh request at the provider');
my $seen = echo_seen();
ok t_cmp(scalar @$seen, 20, '20 concurrent actions: 20 reached the backend');
my %bearer = map { (($_->{headers}{authorization} // '(none)') => 1) } @$seen;
ok t_cmp(join(',', sort keys %bearer), 'Bearer ' . newest_token('access'), '20 concurrent actions: all with the new token');
ok t_cmp(scalar @{ updates() }, 1, '20 concurrent actions: one Update in Blink');
$now = account_now($acct->{id}) // {};
ok t_cmp($now->{refresh_token}, newest_token('refresh'), '20 concurrent actions: Blink holds the rotated refresh token');

# --- a rotated refresh token reused is refused by the provider, and (reuse_revokes) the grant with it: the refresh
# token Blink holds after a refresh must be the new one, or the next refresh kills the link
reset_act();
provider_options(rotate_refresh => JSON::PP::true, reuse_revokes => JSON::PP::true, expires_in => 30);
$acct = linked_account(expires => -60);
ok t_cmp(act('/blink/act/x')->code, 200, 'reuse revokes: the first refresh');
ok t_cmp(act('/blink/act/x')->code, 200, 'reuse revokes: the second refresh (30 s tokens) succeeds too');
my @issued = map { $_->{token} } grep { $_->{type} eq 'refresh' } @{ fake_get('provider', '/_control/tokens') };
ok t_cmp(refresh_tokens_sent(), join(',', map { $_ // '(none)' } @issued[0, 1]),
         'reuse revokes: each refresh presented the refresh token the one before returned');
