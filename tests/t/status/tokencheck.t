# The status page's journal: each app's last failures (with the flow reference), and the background check of its
# Blink API token, made without any user request, at most once a minute per app over all children.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest ();
use JSON::PP ();
use LWP::UserAgent ();
use lib 't/lib';
use BlinkTest;

plan tests => 17, need_lwp;

my $ua = LWP::UserAgent->new(timeout => 30);
my $status = Apache::TestRequest::resolve_url('/blinkauth-status');

# The status JSON's object of one app.
sub app_json {
    my ($auth_id) = @_;
    my $res = $ua->get("$status?format=json");
    die 'status: ' . $res->status_line unless $res->is_success;
    return JSON::PP::decode_json($res->content)->{apps}{$auth_id} // {};
}

# The token check of an app once it has been made: waits (polls) while it says "not checked yet".
sub checked {
    my ($auth_id) = @_;
    for (1 .. 60) {
        my $check = app_json($auth_id)->{blink_api} // {};
        return $check if ($check->{token} // '') ne 'not checked yet';
        sleep 1;
    }
    return {};
}

# --- the check: accepted for the right token, refused for the wrong one; no user request needed
my $good = checked('c-0001');
ok t_cmp($good->{token}, 'accepted', 'right token: accepted');
ok t_cmp($good->{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'right token: when, in RFC 3339 UTC');
ok t_cmp($good->{says}, qr/Blink token check \(GET http:\/\/127\.0\.0\.1:\d+\/v2\/user\/blinkauth-token-check\)/,
         'right token: the call made is named');
my $bad = checked('c-0002');
ok t_cmp($bad->{token}, 'refused', 'wrong token: refused');
ok t_cmp($bad->{says}, qr/answered HTTP 401/, 'wrong token: Blink\'s 401 is told');
ok t_cmp(app_json('a-1234')->{blink_api}{token}, 'not checked (Off)', 'BlinkAuthTokenCheck Off: not checked');

# What the app's own fake Blink saw: only the check, with each app's token, and never twice within a minute.
my @seen = @{ fake_call('check_blink', GET => '/_control/requests') };
ok t_cmp(join(',', sort keys %{ { map { $_->{path} => 1 } @seen } }), '/v2/user/blinkauth-token-check',
         'the fake saw nothing but the check');
my %times;
push @{ $times{ $_->{headers}{authorization} } }, $_->{time} for @seen;
ok t_cmp(join(',', sort keys %times), 'Bearer api-token-123,Bearer api-token-wrong', 'each app checked with its token');
my $closest = 1e9;
for my $list (values %times) {
    my @t = sort { $a <=> $b } @$list;
    $closest = $t[$_] - $t[ $_ - 1 ] < $closest ? $t[$_] - $t[ $_ - 1 ] : $closest for 1 .. $#t;
}
ok t_cmp($closest >= 55 ? 'apart' : "$closest s apart", 'apart',
         'no app checked twice within a minute, whichever child looked (the claim is shared)');

# The refusal is logged once, at error, naming the app.
open my $log, '<', 't/logs/error_log' or die "error_log: $!";
my @refusals = grep { /BLA00803: Auth ID c-0002: the Blink API refuses BlinkAuthAPIToken/ } <$log>;
close $log;
ok t_cmp(scalar(@refusals) >= 1 ? 'logged' : 'not logged', 'logged', 'the refusal is in the error log');
ok t_cmp(join('', @refusals), qr/\[blinkauth:error\]/, '... at error');

# --- the last failures: a failing callback is kept with its step, its sentence and the flow's reference
fake_reset();
my $cb = callback_url_for(start_connect());
fake_fault('provider', route => 'token', mode => 'status', status => 500);
my $page = browser_get($cb);
ok t_cmp($page->code, 502, 'a callback whose token endpoint fails');
my ($ref) = $page->content =~ /Reference: <code>([A-Za-z0-9_-]{10})/;
my $last = app_json('a-1234')->{failures}[0] // {};
ok t_cmp($last->{step}, 'callbacks upstream_error', 'the failure\'s step');
ok t_cmp($last->{error}, qr/token endpoint \(POST http:\/\/127\.0\.0\.1:\d+\/token\).*HTTP 500/, 'the failure\'s sentence');
ok t_cmp($last->{ref}, $ref // 'no ref on the page', 'the failure\'s reference is the one the page shows');
ok t_cmp($last->{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'the failure\'s time');
my $failures = app_json('a-1234')->{failures};
ok t_cmp(scalar(@$failures) <= 20 ? 'at most 20' : scalar(@$failures), 'at most 20', 'at most 20 failures kept');
