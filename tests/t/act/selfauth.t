# An app whose own <Location> has AuthType Blink and Require blink-linked-account (/selfauth in extra.conf.in): its
# routes authenticate themselves (Connect, the start URL and the callback from the browser, Disconnect), so a user
# with no linked account can still connect; below it, actions.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BlinkTest;
use BlinkAct;

plan tests => 18, need_lwp;

reset_act();
is_error(act('/selfauth/act/x'), 403, 'NOT_LINKED', 'before connecting: an action');

my $res = blink_call(POST => '/selfauth/auth/s-1');
ok t_cmp($res->code, 200, 'Connect, for a user with no linked account: 200');
my $url = (json_of($res) // {})->{data}{authorization_url} // '';
ok t_cmp($url, qr{/selfauth/start/[A-Za-z0-9_-]{43,}$}, 'Connect: the start URL');
my ($provider_url) = eval { open_start($url) };
ok t_cmp($provider_url // '(no redirect)', qr{/authorize\?}, 'the start URL, from the browser (no Blink headers): to the provider');
my $callback = eval { callback_url_for($provider_url) } // '(none)';
$res = browser_get($callback);
ok t_cmp($res->code, 200, 'the callback, from the browser: 200');
ok t_cmp($res->content, qr/Connected as alice\@example\.test/, 'the callback: connected');
my ($acct) = grep { $_->{auth_id} eq 's-1' } @{ accounts_of(USER) };
ok t_cmp(defined $acct ? 'saved' : 'not saved', 'saved', 'the linked account is saved in Blink');
$acct //= {};

forget_requests();
ok t_cmp(act('/selfauth/act/x')->code, 200, 'an action below the app: 200');
ok t_cmp(backend_authorization(), "Bearer $acct->{access_token}",
         'an action below the app: the account\'s token');

is_error(blink_call(POST => '/selfauth/auth/s-1', headers => { 'blink-auth-userid' => USER }), 401, 'UNAUTHORIZED',
         'Connect without the proxy secret');
ok t_cmp(blink_call(DELETE => "/selfauth/linked-accounts/$acct->{id}")->code, 200, 'Disconnect: 200');
is_error(act('/selfauth/act/x'), 403, 'NOT_LINKED', 'after Disconnect: an action');
