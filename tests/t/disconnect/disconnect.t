# DELETE <location>/linked-accounts/<id>: Blink's Disconnect.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use lib 't/lib';
use BlinkTest;

plan tests => 69, need_lwp;

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

# --- success: get, delete, then both tokens revoked with client authentication
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
is_json(blink_call(DELETE => "/blink/linked-accounts/$la->{id}"), 200, 'OK', 'Blink 404 on delete');
ok t_cmp(revoked(), 0, 'Blink 404 on delete: nothing revoked by us');

# --- Blink failing: 502 / 504 and nothing revoked
for my $case (['get', 'status', { status => 500 }, 502, 'UPSTREAM_ERROR'],
              ['delete', 'status', { status => 500 }, 502, 'UPSTREAM_ERROR'],
              ['delete', 'status', { status => 401 }, 502, 'UPSTREAM_ERROR'],
              ['get', 'garbage', {}, 502, 'UPSTREAM_ERROR'],
              ['delete', 'hang', { seconds => 5 }, 504, 'UPSTREAM_TIMEOUT']) {
    my ($route, $mode, $extra, $status, $code) = @$case;
    fake_reset();
    $la = connected_account();
    fake_fault('blink', route => $route, mode => $mode, %$extra);
    is_json(blink_call(DELETE => "/blink/linked-accounts/$la->{id}"), $status, $code, "Blink $route $mode");
    ok t_cmp(revoked(), 0, "Blink $route $mode: nothing revoked");
    ok t_cmp(scalar @{ accounts_of() }, 1, "Blink $route $mode: still linked");
}

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
