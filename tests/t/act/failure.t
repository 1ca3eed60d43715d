# Upstreams failing during an action (the main app, no BlinkAuthTokenKey): the provider's token endpoint on a refresh
# (a timeout: 504 UPSTREAM_TIMEOUT; refused, 5xx, 429, garbage, a closed connection: 502 UPSTREAM_ERROR) changes
# nothing anywhere, and the next action refreshes as if nothing had happened; Blink's List failing (502 / 504).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use JSON::PP ();
use lib 't/lib';
use BlinkTest;
use BlinkAct;

plan tests => 89, need_lwp;

my $canonical = JSON::PP->new->canonical;

# --- the token endpoint failing on the refresh grant
for my $case (['hangs', { mode => 'hang', seconds => 5 }, 504, 'UPSTREAM_TIMEOUT'],
              ['answers 500', { mode => 'status', status => 500 }, 502, 'UPSTREAM_ERROR'],
              ['answers 503', { mode => 'status', status => 503 }, 502, 'UPSTREAM_ERROR'],
              ['answers 429', { mode => 'status', status => 429 }, 502, 'UPSTREAM_ERROR'],
              ['answers garbage', { mode => 'garbage' }, 502, 'UPSTREAM_ERROR'],
              ['closes the connection', { mode => 'close' }, 502, 'UPSTREAM_ERROR']) {
    my ($what, $fault, $status, $code) = @$case;
    $what = "token endpoint $what";
    reset_act();
    provider_options(rotate_refresh => JSON::PP::true);
    my $acct = linked_account(expires => -60);
    fake_fault('provider', route => 'refresh', %$fault);
    is_error(act('/blink/act/x'), $status, $code, $what);
    ok t_cmp(scalar @{ refreshes() }, 1, "$what: the refresh was sent once");
    ok t_cmp(scalar @{ updates() }, 0, "$what: nothing written to Blink (no Update)");
    ok t_cmp($canonical->encode(account_now($acct->{id}) // {}), $canonical->encode($acct), "$what: Blink's account unchanged");
    nothing_proxied($what);
    forget_requests();
    ok t_cmp(act('/blink/act/x')->code, 200, "$what: the next action succeeds");
    ok t_cmp(refresh_tokens_sent(), $acct->{refresh_token}, "$what: the next action refreshes with the same refresh token");
}

# --- the token endpoint refusing connections (BlinkAuthTokenURL on port 1)
reset_act();
my $acct = linked_account(expires => -60);
is_error(act('/blink/down-token/act/x'), 502, 'UPSTREAM_ERROR', 'token endpoint refused');
ok t_cmp(scalar @{ updates() }, 0, 'token endpoint refused: nothing written to Blink (no Update)');
ok t_cmp($canonical->encode(account_now($acct->{id}) // {}), $canonical->encode($acct),
         'token endpoint refused: Blink\'s account unchanged');
nothing_proxied('token endpoint refused');

# --- Blink's List failing: nothing else is asked
for my $case (['answers 500', { mode => 'status', status => 500 }, 502, 'UPSTREAM_ERROR'],
              ['answers 429', { mode => 'status', status => 429 }, 502, 'UPSTREAM_ERROR'],
              ['answers garbage', { mode => 'garbage' }, 502, 'UPSTREAM_ERROR'],
              ['answers an HTML 404', { mode => 'status', status => 404, body => '<html>Not Found</html>' }, 502,
               'UPSTREAM_ERROR'],
              ['hangs', { mode => 'hang', seconds => 5 }, 504, 'UPSTREAM_TIMEOUT']) {
    my ($what, $fault, $status, $code) = @$case;
    $what = "Blink List $what";
    reset_act();
    linked_account(expires => -60);
    fake_fault('blink', route => 'list', %$fault);
    is_error(act('/blink/act/x'), $status, $code, $what);
    ok t_cmp(scalar @{ refreshes() }, 0, "$what: the provider was not asked");
    nothing_proxied($what);
}
reset_act();
is_error(act('/blink/down-api/act/x'), 502, 'UPSTREAM_ERROR', 'Blink API refused');
nothing_proxied('Blink API refused');
