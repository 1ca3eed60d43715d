# DELETE <location>/linked-accounts/<id>: Blink's Disconnect.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use Apache::TestUtil qw(t_start_error_log_watch t_finish_error_log_watch);
use lib 't/lib';
use BlinkTest;

plan tests => 98, need_lwp;

# Asserts a JSON answer: status and envelope code.
sub is_json {
    my ($res, $status, $code, $what) = @_;
    ok t_cmp($res->code, $status, "$what: status");
    ok t_cmp((json_of($res) // {})->{code}, $code, "$what: code $code");
}

# Connects USER for real through the fakes; returns the linked account Blink saved.
sub connected_account {
    my $res = browser_get(callback_url_for(start_connect()));
    die 'connect failed: ' . $res->content unless $res->code == 200;
    my ($la) = @{ accounts_of(USER) };
    return $la;
}

# The routes the fake Blink saw, as "METHOD path" lines.
sub blink_saw {
    return join ' ; ', map { "$_->{method} $_->{path}" }
        grep { $_->{route} =~ /^(get|delete)$/ } @{ fake_get('blink', '/_control/requests') };
}

# How many tokens the fake provider holds revoked.
sub revoked { scalar @{ fake_get('provider', '/_control/revoked') } }

# --- success: get, both tokens revoked with client authentication, then delete
fake_reset();
my $la = connected_account();
my $res = blink_call(DELETE => "/blink/linked-accounts/$la->{id}");
is_json($res, 200, 'OK', 'disconnect');
ok t_cmp($res->content, '{"code":"OK","message":"OK","data":{}}', 'exact success body');
ok t_cmp($res->header('Content-Type'), 'application/json; charset=utf-8', 'JSON');
ok t_cmp(blink_saw(), "GET /v2/user/u-42/linked-accounts/$la->{id} ; DELETE /v2/user/u-42/linked-accounts/$la->{id}",
         'Blink saw GET then DELETE for the right user and id');
ok t_cmp(scalar @{ accounts_of() }, 0, 'the linked account is gone');
my %revoked = map { $_->{token} => 1 } @{ fake_get('provider', '/_control/revoked') };
ok t_cmp(($revoked{ $la->{access_token} } ? 'access ' : '') . ($revoked{ $la->{refresh_token} } ? 'refresh' : ''),
         'access refresh', 'both tokens revoked at the provider');
my @rv = @{ fake_get('provider', '/_control/requests?route=revoke') };
ok t_cmp(join(',', map { $_->{form}{token_type_hint} } @rv), 'refresh_token,access_token', 'token_type_hint sent');
ok t_cmp(join(',', map { $_->{headers}{authorization} =~ /^Basic / ? 'basic' : 'none' } @rv), 'basic,basic',
         'revocation authenticated as the client');

# --- idempotent
is_json(blink_call(DELETE => "/blink/linked-accounts/$la->{id}"), 200, 'OK', 'repeat delete');
fake_reset();
$la = connected_account();
fake_fault('blink', route => 'delete', mode => 'status', status => 404);
is_json(blink_call(DELETE => "/blink/linked-accounts/$la->{id}"), 200, 'OK', 'Blink 404 (JSON) on delete');
ok t_cmp(revoked(), 2, 'Blink 404 on delete: the tokens were revoked before');

# --- a 404 without Blink's JSON envelope (a wrong API URL, a proxy's page) is a failure, not "already gone"
for my $route (qw(get delete)) {
    fake_reset();
    $la = connected_account();
    fake_fault('blink', route => $route, mode => 'status', status => 404, body => '<html>Not Found</html>');
    t_start_error_log_watch();
    is_json(blink_call(DELETE => "/blink/linked-accounts/$la->{id}"), 502, 'UPSTREAM_ERROR', "HTML 404 on $route");
    ok t_cmp(join('', grep { /BLA00401/ } t_finish_error_log_watch()), qr/without Blink's JSON envelope/,
             "HTML 404 on $route: logged");
    ok t_cmp(scalar @{ accounts_of() }, 1, "HTML 404 on $route: still linked");
}

# --- Blink failing on get: 502 / 504 and nothing revoked or deleted
for my $case (['get', 'status', { status => 500 }, 502, 'UPSTREAM_ERROR'],
              ['get', 'garbage', {}, 502, 'UPSTREAM_ERROR'],
              ['get', 'hang', { seconds => 5 }, 504, 'UPSTREAM_TIMEOUT']) {
    my ($route, $mode, $extra, $status, $code) = @$case;
    fake_reset();
    $la = connected_account();
    fake_fault('blink', route => $route, mode => $mode, %$extra);
    is_json(blink_call(DELETE => "/blink/linked-accounts/$la->{id}"), $status, $code, "Blink $route $mode");
    ok t_cmp(revoked(), 0, "Blink $route $mode: nothing revoked");
    ok t_cmp(scalar @{ accounts_of() }, 1, "Blink $route $mode: still linked");
}

# --- Blink failing on delete (the tokens are revoked by then): 502 / 504, and a repeated Disconnect finishes
for my $case (['delete', 'status', { status => 500 }, 502, 'UPSTREAM_ERROR'],
              ['delete', 'status', { status => 401 }, 502, 'UPSTREAM_ERROR'],
              ['delete', 'hang', { seconds => 5 }, 504, 'UPSTREAM_TIMEOUT'],
              ['delete', 'commit', { then => 'hang', seconds => 4 }, 504, 'UPSTREAM_TIMEOUT']) {
    my ($route, $mode, $extra, $status, $code) = @$case;
    fake_reset();
    $la = connected_account();
    fake_fault('blink', route => $route, mode => $mode, %$extra);
    is_json(blink_call(DELETE => "/blink/linked-accounts/$la->{id}"), $status, $code, "Blink $route $mode");
    ok t_cmp(revoked(), 2, "Blink $route $mode: the tokens were revoked first");
    is_json(blink_call(DELETE => "/blink/linked-accounts/$la->{id}"), 200, 'OK', "Blink $route $mode: repeated");
    ok t_cmp(scalar @{ accounts_of() }, 0, "Blink $route $mode, repeated: gone");
}

# --- an account of another app: refused before anything is revoked or deleted
fake_reset();
my $other = fake_post('blink', '/_control/accounts', { user_id => USER, id => 'la-other', auth_id => 'z-9999',
                                                       external_account_id => 'x', access_token => 'at-x',
                                                       refresh_token => 'rt-x' });
t_start_error_log_watch();
is_json(blink_call(DELETE => '/blink/linked-accounts/la-other'), 404, 'NOT_FOUND', 'another app\'s account');
ok t_cmp(join('', grep { /BLA00402/ } t_finish_error_log_watch()), qr/belongs to Auth ID z-9999/,
         'another app\'s account: logged');
ok t_cmp(revoked(), 0, 'another app\'s account: nothing revoked');
ok t_cmp(scalar @{ accounts_of() }, 1, 'another app\'s account: not deleted');

# --- revocation failing: still a success
fake_reset();
$la = connected_account();
fake_fault('provider', route => 'revoke', mode => 'status', status => 503, count => 4);
is_json(blink_call(DELETE => "/blink/linked-accounts/$la->{id}"), 200, 'OK', 'revocation failing');
ok t_cmp(scalar @{ accounts_of() }, 0, 'revocation failing: the link is deleted all the same');

# --- the guard
my $path = '/blink/linked-accounts/la-1';
is_json(blink_call(DELETE => $path, headers => { 'blink-auth-userid' => USER }), 401, 'UNAUTHORIZED', 'no secret');
is_json(blink_call(DELETE => $path, headers => { 'blink-auth-proxysecret' => 'nope', 'blink-auth-userid' => USER }),
        401, 'UNAUTHORIZED', 'wrong secret');
is_json(blink_call(DELETE => $path, headers => { 'blink-auth-proxysecret' => SECRET }), 400, 'BAD_REQUEST',
        'no user id');
is_json(blink_call(DELETE => $path, headers => { 'blink-auth-proxysecret' => SECRET, 'blink-auth-userid' => '..' }),
        400, 'BAD_REQUEST', 'user id ..');
for my $m (qw(GET POST PUT)) {
    my $r = blink_call($m => $path);
    is_json($r, 405, 'METHOD_NOT_ALLOWED', "$m on disconnect");
    ok t_cmp($r->header('Allow'), qr/^DELETE/, "$m: Allow names DELETE");
}

# --- hostile ids
fake_reset();
is_json(blink_call(DELETE => '/blink/linked-accounts/..%2F..%2Fadmin'), 400, 'BAD_REQUEST', 'encoded slashes');
is_json(blink_call(DELETE => '/blink/linked-accounts/' . ('x' x 257)), 400, 'BAD_REQUEST', 'id of 257 bytes');
is_json(blink_call(DELETE => '/blink/linked-accounts/a%09b'), 400, 'BAD_REQUEST', 'id with a tab');
ok t_cmp(blink_call(DELETE => '/blink/linked-accounts/a%00b')->code, qr/^40[04]$/, '%00: httpd refuses it itself');
ok t_cmp(blink_call(DELETE => '/blink/linked-accounts/' . ('x' x 10000))->code, 414, '10 KB: httpd\'s 414');
ok t_cmp(blink_saw(), '', 'no hostile id reached Blink');
is_json(blink_call(DELETE => '/blink/linked-accounts/a%20b%3Fc%23d'), 200, 'OK', 'id with space, ? and #');
ok t_cmp(blink_saw(), 'GET /v2/user/u-42/linked-accounts/a%20b%3Fc%23d', 'percent-encoded on the way to Blink');
fake_reset();
is_json(blink_call(DELETE => $path, headers => { 'blink-auth-proxysecret' => SECRET, 'blink-auth-userid' => 'u/../x' }),
        502, 'UPSTREAM_ERROR', 'user id with slashes: Blink refuses it');
ok t_cmp(blink_saw(), 'GET /v2/user/u%2F..%2Fx/linked-accounts/la-1', 'user id stays one path segment');
