# No token and no secret in the logs, at LogLevel trace8 for every module (/blink/act-traced and /keyed/act-traced in
# extra.conf.in): actions that refresh (with rotation), find a dead link, meet a failing provider, use and update the
# sealed copy, and take the token another server saved; then every token value issued or seeded here, and every
# configured secret, is looked for in the error log and the access log.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp t_start_error_log_watch t_finish_error_log_watch);
use File::Spec ();
use JSON::PP ();
use lib 't/lib';
use BlinkTest;
use BlinkAct;

plan tests => 12, need_lwp;

my $t_dir = Apache::Test::vars('t_dir');
my $logs = Apache::Test::vars('t_logs');

my %seeded;    # the tokens seeded in Blink that the provider did not issue: name => value
my @codes;
t_start_error_log_watch();

# --- the main app (no copy): a refresh with rotation, a fresh token, a dead link, a failing provider
reset_act();
provider_options(rotate_refresh => JSON::PP::true);
linked_account(expires => -60);
push @codes, act('/blink/act-traced/x')->code, act('/blink/act-traced/x')->code;
%seeded = (dead_access => 'at-trace-dead-4f1c9a7e2b6d8053a1e4c7b9', dead_refresh => 'rt-trace-dead-9b2e7d4c1a8f6035e2d9b4a7');
seed_account(user_id => 'u-dead', access_token => $seeded{dead_access}, refresh_token => $seeded{dead_refresh},
             expiry => rfc3339(-60));
push @codes, act('/blink/act-traced/x', user => 'u-dead')->code;
linked_account(user_id => 'u-temp', expires => -60);
fake_fault('provider', route => 'refresh', mode => 'status', status => 500);
push @codes, act('/blink/act-traced/x', user => 'u-temp')->code;
fake_fault('provider', route => 'refresh', mode => 'garbage');
push @codes, act('/blink/act-traced/x', user => 'u-temp')->code;

# --- the keyed app: a connect, refreshes through the copy, another server's token, a dead link
provider_options(rotate_refresh => JSON::PP::true, expires_in => 30);
my $acct = connect_app('/keyed', 'k-1');
push @codes, act('/keyed/act-traced/x')->code, act('/keyed/act-traced/x')->code;
my $other = provider_refresh(newest_token('refresh'));
seed_account(id => $acct->{id}, auth_id => 'k-1', external_account_id => $acct->{external_account_id},
             access_token => $other->{access_token}, refresh_token => $other->{refresh_token}, expiry => rfc3339(30));
push @codes, act('/keyed/act-traced/x')->code;
fake_fault('provider', route => 'refresh', mode => 'status', status => 400, body => '{"error":"invalid_grant"}');
push @codes, act('/keyed/act-traced/x')->code;
ok t_cmp(join(' ', @codes), '200 200 401 502 502 200 200 200 401',
         'the actions: refreshed, fresh, dead, failing twice; keyed: refreshed twice, another server\'s, dead');
my @watched = t_finish_error_log_watch();

# --- what must not appear
my %token = map { ("$_->{type} token $_->{token}" => $_->{token}) } @{ fake_get('provider', '/_control/tokens') };
$token{"seeded $_"} = $seeded{$_} for keys %seeded;
ok t_cmp(scalar(keys %token) >= 16 ? 'collected' : 'only ' . scalar(keys %token), 'collected',
         'collected the tokens issued and seeded here');
my %secret = ('proxy secret' => SECRET, 'API token' => 'api-token-123', 'client secret' => CLIENT_SECRET,
              'API token (file)' => file_text(File::Spec->catfile($t_dir, 'conf', 'api-token.txt')) =~ s/\n\z//r,
              'token key (file)' => file_text(File::Spec->catfile($t_dir, 'secrets', 'token-key.txt')) =~ s/\n\z//r);
ok t_cmp(scalar(grep { length($_) >= 8 } values %secret), 5, 'collected the configured secrets');

my $watched = join '', @watched;
ok t_cmp($watched, qr/\[proxy(?:_http)?:trace[1-8]\]/, 'this file\'s error log lines hold mod_proxy\'s trace lines (trace8 in effect)');
ok t_cmp(scalar(grep { /\[blinkauth:/ } @watched) > 0 ? 'some' : 'none', 'some', 'this file\'s error log lines hold mod_blinkauth\'s');
ok t_cmp(leaked($watched, \%token), 'none', 'this file\'s error log lines: no token');
ok t_cmp(leaked($watched, \%secret), 'none', 'this file\'s error log lines: no secret');

my $error_log = file_text(File::Spec->catfile($logs, 'error_log'));
my $access_log = file_text(File::Spec->catfile($logs, 'access_log'));
ok t_cmp($access_log, qr{ u-dead \[[^\]]+\] "GET /blink/act-traced/x HTTP/1\.1" 401 },
         'the access log holds the actions (with their user)');
for my $log (['error log', $error_log], ['access log', $access_log]) {
    my ($name, $text) = @$log;
    ok t_cmp(leaked($text, \%token), 'none', "$name: no token issued or seeded here");
    ok t_cmp(leaked($text, \%secret), 'none', "$name: no configured secret");
}
