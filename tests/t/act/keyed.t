# The app with BlinkAuthTokenKey (/keyed in extra.conf.in): the sealed copy of each user's tokens. A connect writes it,
# actions read it instead of asking Blink, a refresh saves the rotated token in it; a refresh refused because another
# server rotated the token first uses the one that server saved in Blink; a dead link and Disconnect drop it; a
# temporary failure leaves it alone; 20 concurrent actions make one refresh.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use JSON::PP ();
use lib 't/lib';
use BlinkTest;
use BlinkAct;

plan tests => 64, need_lwp;

my $PATH = '/keyed/act/x';

# Connects USER through /keyed; returns the linked account Blink holds.
sub keyed_connect { return connect_app('/keyed', 'k-1') }

# Replaces the tokens of a /keyed account in Blink (as another server of the app would write them).
sub blink_holds {
    my ($acct, %tokens) = @_;
    return seed_account(id => $acct->{id}, auth_id => 'k-1', external_account_id => $acct->{external_account_id},
                        %tokens);
}

# --- a connect writes our copy: actions do not ask Blink
reset_act();
my $acct = keyed_connect();
forget_requests();
ok t_cmp(act($PATH)->code, 200, 'the action after a connect: 200');
ok t_cmp(scalar @{ lists() }, 0, 'the action after a connect: our copy, no List at Blink');
ok t_cmp(backend_authorization(), "Bearer $acct->{access_token}", 'the action after a connect: the connect\'s token');
forget_requests();
ok t_cmp(act($PATH)->code . ' ' . scalar @{ lists() }, '200 0', 'the second action: our copy again');
ok t_cmp(scalar @{ refreshes() }, 0, 'fresh tokens: no refresh');

my $body = is_error(act($PATH, user => 'u-nobody'), 403, 'NOT_LINKED', 'a user with no linked account');
ok t_cmp($body->{message}, qr/^Connect your Acme Cloud account in Blink first\b/, 'NOT_LINKED names BlinkAuthServiceName');

# --- refreshed from our copy; the rotated refresh token is saved in it (and in Blink)
reset_act();
provider_options(rotate_refresh => JSON::PP::true, expires_in => 30);    # every access token is within 60 s of expiry
$acct = keyed_connect();
forget_requests();
ok t_cmp(act($PATH)->code, 200, 'expiring copy: 200');
ok t_cmp(refresh_tokens_sent(), $acct->{refresh_token}, 'expiring copy: refreshed once, with the connect\'s refresh token');
ok t_cmp(scalar @{ lists() }, 0, 'expiring copy: no List at Blink');
my ($at2, $rt2) = (newest_token('access'), newest_token('refresh'));
ok t_cmp(backend_authorization(), "Bearer $at2", 'expiring copy: the backend gets the new token');
ok t_cmp(join(' ', @{ account_now($acct->{id}) // {} }{qw(access_token refresh_token)}), "$at2 $rt2",
         'expiring copy: the new tokens written to Blink');
forget_requests();
ok t_cmp(act($PATH)->code, 200, 'the next action (a 30 s token again): 200');
ok t_cmp(refresh_tokens_sent(), $rt2, 'the next action refreshes with the rotated refresh token: our copy holds it');
ok t_cmp(scalar @{ lists() }, 0, 'the next action: no List at Blink');

# --- another server rotated the refresh token and saved the result in Blink; our copy still holds the old one
reset_act();
provider_options(rotate_refresh => JSON::PP::true, expires_in => 30);
$acct = keyed_connect();
provider_options(expires_in => 7200);
my $other = provider_refresh($acct->{refresh_token});
blink_holds($acct, access_token => $other->{access_token}, refresh_token => $other->{refresh_token},
            expiry => rfc3339(7200));
forget_requests();
ok t_cmp(act($PATH)->code, 200, 'another server rotated it: 200');
ok t_cmp(refresh_tokens_sent(), $acct->{refresh_token}, 'another server rotated it: our refresh was refused, no other');
ok t_cmp(backend_authorization(), "Bearer $other->{access_token}", 'another server rotated it: the token it saved is used');
ok t_cmp(flag((account_now($acct->{id}) // {})->{reauth_required}), 'false', 'another server rotated it: not a dead link');
forget_requests();
ok t_cmp(act($PATH)->code, 200, 'another server rotated it: the next action: 200');
ok t_cmp(refresh_tokens_sent(), '', 'another server rotated it: the next action refreshes nothing (our copy now holds '
         . 'the other server\'s fresh token, not the used refresh token)');
ok t_cmp(scalar @{ lists() }, 0, 'another server rotated it: the next action uses our copy (no List)');

# ... and its access token is not fresh either: refreshed once more with its refresh token
reset_act();
provider_options(rotate_refresh => JSON::PP::true, expires_in => 30);
$acct = keyed_connect();
$other = provider_refresh($acct->{refresh_token});
blink_holds($acct, access_token => $other->{access_token}, refresh_token => $other->{refresh_token},
            expiry => rfc3339(30));
forget_requests();
ok t_cmp(act($PATH)->code, 200, 'another server rotated it, its token expiring: 200');
ok t_cmp(refresh_tokens_sent(), "$acct->{refresh_token},$other->{refresh_token}",
         'another server rotated it, its token expiring: ours refused, then refreshed with the one Blink holds');
ok t_cmp(backend_authorization(), 'Bearer ' . newest_token('access'), '... the backend gets the newest token');
ok t_cmp((account_now($acct->{id}) // {})->{refresh_token}, newest_token('refresh'), '... which Blink holds');

# --- a dead link drops our copy
reset_act();
provider_options(expires_in => 30);
$acct = keyed_connect();
fake_fault('provider', route => 'refresh', mode => 'status', status => 400, body => '{"error":"invalid_grant"}');
is_error(act($PATH), 401, 'REAUTH_REQUIRED', 'keyed: invalid_grant');
ok t_cmp(flag((account_now($acct->{id}) // {})->{reauth_required}), 'true', 'keyed: invalid_grant: reauth_required true');
forget_requests();
is_error(act($PATH), 401, 'REAUTH_REQUIRED', 'keyed: the next action');
ok t_cmp(scalar @{ refreshes() }, 0, 'keyed: the next action: the provider is not asked');
ok t_cmp(scalar @{ lists() }, 1, 'keyed: the next action asks Blink: our copy was dropped');
provider_options(expires_in => 3600);
$acct = keyed_connect();
ok t_cmp(flag($acct->{reauth_required}), 'false', 'keyed: a reconnect clears reauth_required');
forget_requests();
ok t_cmp(act($PATH)->code . ' ' . scalar @{ lists() }, '200 0', 'keyed: after the reconnect, our copy again');
ok t_cmp(backend_authorization(), "Bearer $acct->{access_token}", 'keyed: after the reconnect, its token');

# --- a temporary failure leaves our copy as it was
for my $case (['answers 503', { mode => 'status', status => 503 }, 502, 'UPSTREAM_ERROR'],
              ['hangs', { mode => 'hang', seconds => 5 }, 504, 'UPSTREAM_TIMEOUT']) {
    my ($what, $fault, $status, $code) = @$case;
    $what = "keyed: token endpoint $what";
    reset_act();
    provider_options(rotate_refresh => JSON::PP::true, expires_in => 30);
    $acct = keyed_connect();
    fake_fault('provider', route => 'refresh', %$fault);
    forget_requests();
    is_error(act($PATH), $status, $code, $what);
    ok t_cmp(scalar @{ updates() }, 0, "$what: no Update in Blink");
    forget_requests();
    ok t_cmp(act($PATH)->code, 200, "$what: the next action succeeds");
    ok t_cmp(refresh_tokens_sent(), $acct->{refresh_token}, "$what: with the refresh token our copy still holds");
}

# --- Disconnect drops our copy
reset_act();
$acct = keyed_connect();
forget_requests();
ok t_cmp(act($PATH)->code . ' ' . scalar @{ lists() }, '200 0', 'before Disconnect: our copy');
ok t_cmp(blink_call(DELETE => "/keyed/linked-accounts/$acct->{id}")->code, 200, 'Disconnect');
forget_requests();
is_error(act($PATH), 403, 'NOT_LINKED', 'after Disconnect');
ok t_cmp(scalar @{ lists() }, 1, 'after Disconnect: Blink is asked (our copy is gone)');

# --- 20 concurrent actions with an expiring copy: one refresh
reset_act();
provider_options(rotate_refresh => JSON::PP::true, expires_in => 30);
$acct = keyed_connect();
provider_options(expires_in => 7200);
fake_fault('provider', route => 'refresh', mode => 'delay', seconds => 1);
forget_requests();
my @codes = concurrent_actions(20, $PATH);
ok t_cmp(join(' ', @codes), join(' ', ('200') x 20), 'keyed: 20 concurrent actions: 20 x 200');
ok t_cmp(scalar @{ refreshes() }, 1, 'keyed: 20 concurrent actions: exactly one refresh request');
my %bearer = map { (($_->{headers}{authorization} // '(none)') => 1) } @{ echo_seen() };
ok t_cmp(join(',', sort keys %bearer), 'Bearer ' . newest_token('access'), 'keyed: 20 concurrent actions: all with the new token');
# A request that reads the copy between its save and its being marked as in Blink leaves it to the refresh lock's
# holder: one Update, writing the rotated refresh token.
ok t_cmp(scalar @{ updates() }, 1, 'keyed: 20 concurrent actions: one Update in Blink');
my %written = map { ((($_->{json} // {})->{refresh_token} // '(none)') => 1) } @{ updates() };
ok t_cmp(join(',', sort keys %written), newest_token('refresh'), 'keyed: 20 concurrent actions: the Updates write the rotated refresh token');
ok t_cmp((account_now($acct->{id}) // {})->{refresh_token}, newest_token('refresh'), 'keyed: 20 concurrent actions: Blink holds it');
