# Dead links (the main app, no BlinkAuthTokenKey): a refresh refused for good (invalid_grant), or an expired token with
# no refresh token, answers 401 REAUTH_REQUIRED and marks the account reauth_required in Blink, after which actions no
# longer ask the provider; a reconnect clears it. A refresh token that another server of the app rotated meanwhile is
# not a dead link: the one it saved in Blink is used.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use JSON::PP ();
use POSIX ();
use Time::HiRes ();
use lib 't/lib';
use BlinkTest;
use BlinkAct;

plan tests => 32, need_lwp;

# The reauth_required flags the Updates (PATCH) sent, comma-separated.
sub reauth_sent { return join ',', map { flag(($_->{json} // {})->{reauth_required}) } @{ updates() } }

# --- a refresh token the provider does not know
reset_act();
my $acct = seed_account(access_token => 'at-stale-1', refresh_token => 'rt-never-issued', expiry => rfc3339(-60));
my $body = is_error(act('/blink/act/x'), 401, 'REAUTH_REQUIRED', 'invalid_grant');
ok t_cmp($body->{message}, qr/Blink's apps page/, 'invalid_grant: says to connect again in Blink\'s apps page');
ok t_cmp(refresh_tokens_sent(), 'rt-never-issued', 'invalid_grant: one refresh was tried');
ok t_cmp(reauth_sent(), 'true', 'invalid_grant: Update with reauth_required true');
ok t_cmp(flag((account_now($acct->{id}) // {})->{reauth_required}), 'true', 'invalid_grant: Blink holds reauth_required true');
nothing_proxied('invalid_grant');

forget_requests();
is_error(act('/blink/act/x'), 401, 'REAUTH_REQUIRED', 'the next action');
ok t_cmp(scalar @{ refreshes() }, 0, 'the next action: the provider is not asked');
nothing_proxied('the next action');

# --- a reconnect clears reauth_required (the callback's Update of the same external account)
my $res = browser_get(callback_url_for(start_connect()));
ok t_cmp($res->code, 200, 'reconnect: the callback succeeds');
my $now = account_now($acct->{id}) // {};
ok t_cmp(flag($now->{reauth_required}), 'false', 'reconnect: reauth_required false in Blink');
forget_requests();
ok t_cmp(act('/blink/act/x')->code, 200, 'after reconnecting: the action succeeds');
ok t_cmp(backend_authorization(), "Bearer $now->{access_token}",
         'after reconnecting: with the token of the reconnect');

# --- invalid_grant for a refresh token the provider issued (as when the user revoked the access)
reset_act();
$acct = linked_account(expires => -60);
fake_fault('provider', route => 'refresh', mode => 'status', status => 400,
           body => '{"error":"invalid_grant","error_description":"the grant was revoked"}');
is_error(act('/blink/act/x'), 401, 'REAUTH_REQUIRED', 'invalid_grant for an issued refresh token');
ok t_cmp(flag((account_now($acct->{id}) // {})->{reauth_required}), 'true',
         'invalid_grant for an issued refresh token: reauth_required true');

# --- expired, and no refresh token
reset_act();
$acct = seed_account(access_token => 'at-without-refresh', expiry => rfc3339(-60));
is_error(act('/blink/act/x'), 401, 'REAUTH_REQUIRED', 'expired, no refresh token');
ok t_cmp(scalar @{ refreshes() }, 0, 'expired, no refresh token: the provider is not asked');
ok t_cmp(flag((account_now($acct->{id}) // {})->{reauth_required}), 'true',
         'expired, no refresh token: reauth_required true in Blink');
nothing_proxied('expired, no refresh token');

# --- another server of the app refreshed with the same refresh token while ours was on its way (the provider holds
# ours until the other one has rotated it and saved the result in Blink): ours is refused, and Blink's is used
reset_act();
provider_options(rotate_refresh => JSON::PP::true);
$acct = linked_account(expires => -60);
fake_fault('provider', route => 'refresh', mode => 'delay', seconds => 1.5);
my $pid = open(my $fh, '-|') // die "fork: $!";
if (!$pid) {
    print act('/blink/act/x')->code, "\n";
    POSIX::_exit(0);
}
my $until = Time::HiRes::time() + 5;
Time::HiRes::sleep(0.02) until @{ refreshes() } || Time::HiRes::time() > $until;
my $other = provider_refresh($acct->{refresh_token});
seed_account(id => $acct->{id}, access_token => $other->{access_token}, refresh_token => $other->{refresh_token},
             expiry => rfc3339(3600));
chomp(my $code = <$fh> // '(none)');
close $fh;
ok t_cmp($code, 200, 'another server rotated it meanwhile: 200');
ok t_cmp(refresh_tokens_sent(), "$acct->{refresh_token},$acct->{refresh_token}",
         'another server rotated it meanwhile: ours and the other server\'s refresh, with the same token');
ok t_cmp(backend_authorization(), "Bearer $other->{access_token}",
         'another server rotated it meanwhile: the token it saved in Blink is used');
ok t_cmp(reauth_sent(), '', 'another server rotated it meanwhile: no Update (the link is not dead)');
ok t_cmp(flag((account_now($acct->{id}) // {})->{reauth_required}), 'false',
         'another server rotated it meanwhile: reauth_required stays false');
