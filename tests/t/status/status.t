# SetHandler blinkauth-status: the counters (Prometheus text, JSON), the health check, the server-status section.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest ();
use File::Temp ();
use JSON::PP ();
use LWP::UserAgent ();
use lib 't/lib';
use BlinkTest;

plan tests => 71, need_lwp;

my $status = Apache::TestRequest::resolve_url('/blinkauth-status');
my $ua = LWP::UserAgent->new(timeout => 30);

# GET of the status location (or below it) with optional headers; the response.
sub status_get {
    my ($path, %headers) = @_;
    return $ua->get($status . ($path // ''), %headers);
}

# The Prometheus text of the status handler.
sub exposition { status_get('?format=prometheus')->content }

# The value of one sample of the exposition text: name and its labels in order, e.g. sample($t,
# 'blinkauth_connects_total', auth_id => 'a-1234', outcome => 'ok'); undef when there is no such line.
sub sample {
    my ($text, $name, @labels) = @_;
    my $want = @labels ? '{' . join(',', map { "$labels[2*$_]=\"$labels[2*$_+1]\"" } 0 .. $#labels / 2) . '}' : '';
    for (split /\n/, $text) {
        return $1 if /^\Q$name$want\E (\S+)$/;
    }
    return undef;
}

# What one sample grew by while code ran.
sub grows {
    my ($code, $name, @labels) = @_;
    my $before = sample(exposition(), $name, @labels) // 'none';
    $code->();
    my $after = sample(exposition(), $name, @labels) // 'none';
    return $before eq 'none' || $after eq 'none' ? "missing ($before -> $after)" : $after - $before;
}

# --- the Prometheus text: content type, the families with HELP and TYPE
my $res = status_get('');
ok t_cmp($res->code, 200, 'GET status: 200');
ok t_cmp($res->header('Content-Type'), 'text/plain; version=0.0.4; charset=utf-8', 'Prometheus text 0.0.4 by default');
my $text = $res->content;
for my $family (qw(connects_total starts_total callbacks_total disconnects_total revocations_total
                   token_refreshes_total actions_total upstream_requests_total upstream_request_duration_seconds
                   flow_store_operations_total http_handles http_connections_opened_total apps)) {
    ok t_cmp(scalar(() = $text =~ /^# (?:HELP|TYPE) blinkauth_$family /mg), 2, "HELP and TYPE of blinkauth_$family");
}
ok t_cmp(sample($text, 'blinkauth_token_refreshes_total', auth_id => 'b-5678', outcome => 'link_dead') // 'none',
         qr/^\d+$/, 'token refreshes are counted by outcome');
ok t_cmp(sample($text, 'blinkauth_actions_total', auth_id => 'b-5678', outcome => 'not_linked') // 'none', qr/^\d+$/,
         'actions are counted by outcome');
ok t_cmp(sample($text, 'blinkauth_connects_total', auth_id => 'b-5678', outcome => 'ok') // 'none', qr/^\d+$/,
         'the second app has its own counters');

# --- promtool (Debian's prometheus package) accepts the exposition text
my $tmp = File::Temp->new;
print $tmp $text;
close $tmp;
my ($promtool) = grep { -x } map { "$_/promtool" } split /:/, $ENV{PATH};
$promtool //= '';
ok t_cmp($promtool ne '' ? 'found' : 'missing', 'found', 'promtool is installed (scripts/deps.sh test installs prometheus)');
my $lint = $promtool ne '' ? `$promtool check metrics < $tmp 2>&1` : 'not run';
ok t_cmp($? == 0 ? "exit 0$lint" : "exit $?: $lint", 'exit 0', 'promtool check metrics passes, with no complaint');

# --- counters move by exactly what the requests did
ok t_cmp(grows(sub { start_connect() for 1 .. 3 }, 'blinkauth_connects_total', auth_id => 'a-1234', outcome => 'ok'),
         3, 'three Connects: connects ok +3');
ok t_cmp(grows(sub { blink_call(POST => '/blink/auth/a-1234', headers => { 'blink-auth-userid' => USER }) },
               'blinkauth_connects_total', auth_id => 'a-1234', outcome => 'refused'),
         1, 'a Connect without the secret: connects refused +1');
ok t_cmp(grows(sub { blink_call(POST => '/blink/auth/b-5678') }, 'blinkauth_connects_total', auth_id => 'a-1234',
               outcome => 'other_app'),
         1, 'a Connect for another Auth ID: other_app +1');
ok t_cmp(grows(sub { blink_call(GET => '/blink/auth/a-1234') }, 'blinkauth_connects_total', auth_id => 'a-1234',
               outcome => 'refused'),
         0, 'a 405 is not counted');

fake_reset();
my $before = exposition();
my $page = browser_get(callback_url_for(start_connect()));
my $after = exposition();
ok t_cmp($page->code, 200, 'a whole connect through the fakes');
my %moved = (
    'connects ok'            => ['blinkauth_connects_total', auth_id => 'a-1234', outcome => 'ok'],
    'starts ok'              => ['blinkauth_starts_total', auth_id => 'a-1234', outcome => 'ok'],
    'callbacks connected'    => ['blinkauth_callbacks_total', auth_id => 'a-1234', outcome => 'connected'],
    'token endpoint 2xx'     => ['blinkauth_upstream_requests_total', endpoint => 'token', class => '2xx'],
    'userinfo 2xx'           => ['blinkauth_upstream_requests_total', endpoint => 'userinfo', class => '2xx'],
    'Blink add 2xx'          => ['blinkauth_upstream_requests_total', endpoint => 'blink_add', class => '2xx'],
    'token latency count'    => ['blinkauth_upstream_request_duration_seconds_count', endpoint => 'token'],
    'token latency +Inf'     => ['blinkauth_upstream_request_duration_seconds_bucket', endpoint => 'token', le => '+Inf'],
);
for my $what (sort keys %moved) {
    my @s = @{ $moved{$what} };
    ok t_cmp((sample($after, @s) // 0) - (sample($before, @s) // 0), 1, "one connect: $what +1");
}
ok t_cmp(sample($after, 'blinkauth_flow_store_operations_total', op => 'store', result => 'ok') -
             sample($before, 'blinkauth_flow_store_operations_total', op => 'store', result => 'ok'),
         3, 'one connect: the flow store stored 3 records (bound flow, spent mark, done)');
my $ops_before = exposition();
ok t_cmp(blink_call(POST => '/blink/auth/a-1234')->code, 200, 'a Connect alone');
my $ops_after = exposition();
my %ops = map { my $op = $_; $op => join '+', map { (sample($ops_after, 'blinkauth_flow_store_operations_total', op => $op, result => $_) // 0)
                                             - (sample($ops_before, 'blinkauth_flow_store_operations_total', op => $op, result => $_) // 0) } qw(ok not_found error) } qw(store retrieve remove);
ok t_cmp(join(' ', map { "$_=$ops{$_}" } sort keys %ops), 'remove=0+0+0 retrieve=0+0+0 store=0+0+0',
         'a Connect alone uses the flow store (shmcb) not at all: its start URL carries the connect');
ok t_cmp(sample($after, 'blinkauth_http_connections_opened_total') >= 1 ? 'some' : 'none', 'some',
         'the HTTP client counts the connections it opened');

ok t_cmp(grows(sub { browser_get(Apache::TestRequest::resolve_url('/blink/callback?state=' . ('A' x 43) . '&code=x')) },
               'blinkauth_callbacks_total', auth_id => 'a-1234', outcome => 'expired'),
         1, 'a callback with an unknown state: expired +1');
ok t_cmp(grows(sub { fake_post('provider', '/_control/deny', { error => 'access_denied' });
                     browser_get(callback_url_for(start_connect())) },
               'blinkauth_callbacks_total', auth_id => 'a-1234', outcome => 'cancelled'),
         1, 'the user refused consent: cancelled +1');
ok t_cmp(grows(sub { fake_fault('provider', route => 'token', mode => 'status', status => 500);
                     browser_get(callback_url_for(start_connect())) },
               'blinkauth_callbacks_total', auth_id => 'a-1234', outcome => 'upstream_error'),
         1, 'the token endpoint answered 500: upstream_error +1');
ok t_cmp(grows(sub { fake_fault('provider', route => 'token', mode => 'status', status => 500);
                     browser_get(callback_url_for(start_connect())) },
               'blinkauth_upstream_requests_total', endpoint => 'token', class => '5xx'),
         1, 'the token endpoint answered 500: token 5xx +1');
ok t_cmp(grows(sub { start_connect(prefix => '/blink/down-token') },
               'blinkauth_connects_total', auth_id => 'a-1234', outcome => 'ok'),
         1, 'an inner <Location> counts for its Auth ID');

my ($la) = @{ accounts_of(USER) };
$before = exposition();
my $gone = blink_call(DELETE => "/blink/linked-accounts/$la->{id}");
$after = exposition();
ok t_cmp($gone->code, 200, 'a Disconnect');
ok t_cmp(sample($after, 'blinkauth_disconnects_total', auth_id => 'a-1234', outcome => 'ok') -
             sample($before, 'blinkauth_disconnects_total', auth_id => 'a-1234', outcome => 'ok'),
         1, 'a Disconnect: disconnects ok +1');
ok t_cmp(sample($after, 'blinkauth_revocations_total', auth_id => 'a-1234', outcome => 'ok') -
             sample($before, 'blinkauth_revocations_total', auth_id => 'a-1234', outcome => 'ok'),
         2, 'a Disconnect: both tokens revoked, revocations ok +2');
ok t_cmp(grows(sub { blink_call(DELETE => "/blink/linked-accounts/$la->{id}") }, 'blinkauth_disconnects_total',
               auth_id => 'a-1234', outcome => 'already_gone'),
         1, 'a repeated Disconnect: already_gone +1');

# --- JSON: the same numbers, and each app's configuration without a secret
$res = status_get('?format=json');
ok t_cmp($res->header('Content-Type'), 'application/json; charset=utf-8', '?format=json: JSON');
my $j = json_of($res);
ok t_cmp(ref $j, 'HASH', 'the JSON parses');
$text = exposition();
ok t_cmp($j->{apps}{'a-1234'}{counters}{connects}{ok},
         sample($text, 'blinkauth_connects_total', auth_id => 'a-1234', outcome => 'ok'),
         'JSON and Prometheus text tell the same count');
my $cfg = $j->{apps}{'a-1234'}{config};
ok t_cmp($cfg->{endpoints}{token}, "http://127.0.0.1:$ENV{BLINK_FAKE_PROVIDER_PORT}/token", 'config: the token URL');
ok t_cmp($cfg->{location}, '/blink', 'config: the location');
ok t_cmp($cfg->{flow_store}, 'shmcb', 'config: the flow store provider');
ok t_cmp($cfg->{discovery}{enabled} ? 'on' : 'off', 'off', 'config: no discovery');
ok t_cmp($j->{apps}{'b-5678'}{config}{endpoints}{authorize}, "http://127.0.0.1:$ENV{BLINK_FAKE_PROVIDER_PORT}/authorize",
         'config: URLs without their query string');
ok t_cmp($j->{apps}{'d-1'}{config}{discovery}{enabled} ? 'on' : 'off', 'on', 'config: discovery on');
ok t_cmp($j->{apps}{'d-1'}{config}{endpoints}{token} // 'none', qr{/token$}, 'config: the discovered token URL');
ok t_cmp($j->{apps}{'d-1'}{config}{discovery}{age_seconds} // 'null', qr/^\d+$/,
         'config: how long ago this process read the metadata');
ok t_cmp(defined $cfg->{discovery}{age_seconds} ? 'an age' : 'null', 'null', 'config: no age without discovery');
my $body = $res->content;
my @leaks = grep { index($body, $_) >= 0 }
    ('s3cret-proxy', 'client-secret', 'api-token-123', 'second-secret', 'inner-secret', 'new-proxy-secret');
ok t_cmp("@leaks", '', 'no configured secret or token in the JSON');

# --- Accept
ok t_cmp(status_get('', Accept => 'application/json')->header('Content-Type'), 'application/json; charset=utf-8',
         'Accept: application/json: JSON');
ok t_cmp(status_get('', Accept => 'text/plain')->header('Content-Type'), qr{^text/plain; version=0\.0\.4},
         'Accept: text/plain: Prometheus text');
ok t_cmp(status_get('', Accept => 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1')
             ->header('Content-Type'), qr{^text/plain; version=0\.0\.4}, "Prometheus' own Accept: Prometheus text");
ok t_cmp(status_get('?format=prometheus', Accept => 'application/json')->header('Content-Type'), qr{^text/plain},
         '?format wins over Accept');
ok t_cmp(status_get('?format=xml')->code, 400, 'an unknown format: 400');

# --- health, methods, other paths
$res = status_get('/health');
ok t_cmp($res->code . ' ' . $res->content, '200 {"status":"ok"}', 'health: 200 {"status":"ok"}');
$res = $ua->post($status);
ok t_cmp($res->code, 405, 'POST: 405');
ok t_cmp($res->header('Allow') // '', 'GET', 'POST: Allow: GET');
ok t_cmp($ua->request(HTTP::Request->new(DELETE => "$status/health"))->code, 405, 'DELETE health: 405');

# --- mod_status: the section in server-status
my $short = $ua->get(Apache::TestRequest::resolve_url('/blinkauth-server-status?auto'))->content;
ok t_cmp($short =~ /^BlinkAuthApps: (\d+)$/m ? $1 : 'none', qr/^[1-9]\d*$/, 'server-status?auto: BlinkAuthApps');
ok t_cmp($short =~ /^BlinkAuthConnects_a-1234: (\d+)$/m ? $1 : 'none',
         sample(exposition(), 'blinkauth_connects_total', auth_id => 'a-1234', outcome => 'ok') +
             sample(exposition(), 'blinkauth_connects_total', auth_id => 'a-1234', outcome => 'refused') +
             sample(exposition(), 'blinkauth_connects_total', auth_id => 'a-1234', outcome => 'other_app'),
         'server-status?auto: the connects of a-1234, every outcome');
ok t_cmp($ua->get(Apache::TestRequest::resolve_url('/blinkauth-server-status'))->content,
         qr{<h2>mod_blinkauth</h2>.*<td>a-1234</td>}s, 'server-status: the HTML section');
