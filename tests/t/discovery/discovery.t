# BlinkAuthProviderMetadataURL: an app whose endpoints come from its provider's OpenID Connect metadata
# (extra.conf.in: /discovered, and /discovered/explicit with a token URL of its own).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest ();
use Digest::SHA qw(sha256);
use JSON::PP ();
use MIME::Base64 qw(encode_base64url);
use lib 't/lib';
use BlinkTest;

plan tests => 30, need_lwp;

my $hostport = Apache::TestRequest::hostport();
my $provider = "http://127.0.0.1:$ENV{BLINK_FAKE_PROVIDER_PORT}";
my $metadata_url = "$provider/.well-known/openid-configuration";
my $logs = Apache::Test::vars('t_logs');

# The text of a file, or '' when it cannot be read.
sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    return <$fh>;
}

# --- read at start-up (never on a request): logged, and kept in the runtime directory (here t/logs)
ok t_cmp(slurp("$logs/error_log"),
         qr{BLA00601: discovery: <Location /discovered> \(BlinkAuth directives at \S+extra\.conf:\d+\): provider metadata \(GET \Q$metadata_url\E\) answered HTTP 200 in \d+ ms; authorization endpoint \Q$provider\E/authorize, token endpoint \Q$provider\E/token},
         'the start-up fetch is logged with the app, the URL and the endpoints');
my $cache = "$logs/blinkauth-discovery-" . encode_base64url(sha256($metadata_url)) . '.json';
my $cached = eval { JSON::PP->new->decode(slurp($cache)) } // {};
ok t_cmp($cached->{issuer}, $provider, 'the cache file, named after the URL\'s SHA-256, holds the document');
ok t_cmp($cached->{token_endpoint}, "$provider/token", 'the cache file holds the document as served');

# --- Connect: the authorization URL is the discovered authorization endpoint
fake_reset();
my $res = blink_call(POST => '/discovered/auth/d-1');
ok t_cmp($res->code, 200, 'Connect answers 200');
my ($url) = open_start((json_of($res) // {})->{data}{authorization_url} // '');
ok t_cmp($url, qr{^\Q$provider\E/authorize\?response_type=code&client_id=test%20client%261&},
         'the authorization URL is the discovered authorization endpoint');
my $q = query_of($url);
ok t_cmp($q->{redirect_uri}, "http://$hostport/discovered/callback", 'redirect URI derived from the location');
ok t_cmp("$q->{code_challenge_method} $q->{scope}", 'S256 openid email', 'PKCE S256 and the scope');
ok t_cmp(scalar @{ fake_get('provider', '/_control/requests?route=discovery') }, 0,
         'Connect did not read the metadata again');

# --- the callback: the code exchanged at the discovered token endpoint, the claim read at userinfo, account saved
$res = browser_get(callback_url_for($url));
ok t_cmp($res->code, 200, 'callback answers 200');
ok t_cmp($res->content, qr{Connected as alice\@example\.test}, 'Connected as the user');
my @token = @{ fake_get('provider', '/_control/requests?route=token') };
ok t_cmp(scalar @token, 1, 'one token request');
ok t_cmp("$token[0]{method} $token[0]{path}?$token[0]{query}", 'POST /token?', 'at the discovered token endpoint');
ok t_cmp($token[0]{headers}{authorization}, qr/^Basic /, 'with the client\'s credentials');
ok t_cmp($token[0]{form}{grant_type}, 'authorization_code', 'an authorization code grant');
my @userinfo = @{ fake_get('provider', '/_control/requests?route=userinfo') };
ok t_cmp(scalar @userinfo, 1, 'the account id read at the discovered userinfo endpoint');
my $accounts = accounts_of(USER);
ok t_cmp(scalar @$accounts, 1, 'one linked account saved in Blink');
my $la = $accounts->[0] // {};
ok t_cmp("$la->{auth_id} $la->{external_account_id}", 'd-1 alice@example.test', 'for this app, with the email claim');
ok t_cmp(scalar @{ fake_get('provider', '/_control/requests?route=discovery') }, 0,
         'the callback did not read the metadata again');

# --- Disconnect: both tokens revoked at the discovered revocation endpoint
$res = blink_call(DELETE => "/discovered/linked-accounts/$la->{id}");
ok t_cmp($res->code, 200, 'Disconnect answers 200');
my @revoke = @{ fake_get('provider', '/_control/requests?route=revoke') };
ok t_cmp(join(',', sort map { $_->{form}{token_type_hint} } @revoke), 'access_token,refresh_token',
         'both tokens revoked at the discovered revocation endpoint');
ok t_cmp(scalar @{ accounts_of() }, 0, 'the linked account is gone');

# --- a token URL set explicitly wins over the discovered one; the rest still comes from the metadata
fake_reset();
($url) = open_start(start_connect(prefix => '/discovered/explicit', auth_id => 'd-1'));
ok t_cmp($url, qr{^\Q$provider\E/authorize\?}, 'explicit: the authorization URL is still the discovered one');
$res = browser_get(callback_url_for($url));
ok t_cmp($res->code, 200, 'explicit: callback answers 200');
ok t_cmp($res->content, qr{Connected as alice\@example\.test}, 'explicit: Connected');
@token = @{ fake_get('provider', '/_control/requests?route=token') };
ok t_cmp(scalar @token, 1, 'explicit: one token request');
ok t_cmp("$token[0]{path}?$token[0]{query}", '/token?explicit=1', 'explicit: at BlinkAuthTokenURL, not the discovered one');
ok t_cmp(scalar @{ fake_get('provider', '/_control/requests?route=userinfo') }, 1,
         'explicit: userinfo still the discovered endpoint');
$la = accounts_of(USER)->[0] // {};
ok t_cmp(blink_call(DELETE => "/discovered/explicit/linked-accounts/$la->{id}")->code, 200,
         'explicit: Disconnect answers 200');

# --- the other apps of the server are untouched: no metadata URL, no discovery
fake_reset();
ok t_cmp((open_start(start_connect()))[0], qr{^\Q$provider\E/authorize\?response_type=code&}, 'the main app still connects');
ok t_cmp(scalar @{ fake_get('provider', '/_control/requests') }, 0, 'and asks the provider nothing to do so');
