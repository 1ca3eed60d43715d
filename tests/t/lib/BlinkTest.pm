# Helpers shared by the mod_blinkauth Apache::Test scripts: playing Blink, reading JSON, the fakes.
package BlinkTest;
use strict;
use warnings;

use Exporter 'import';
use JSON::PP ();
use LWP::UserAgent ();
use HTTP::Request ();
use URI ();
use Apache::TestRequest ();

our @EXPORT = qw(blink_call json_of query_of fake_get fake_post fake_reset fake_fault
                 browser_get start_connect callback_url_for accounts_of
                 SECRET USER AUTH_ID);

use constant SECRET  => 's3cret-proxy';
use constant USER    => 'u-42';
use constant AUTH_ID => 'a-1234';

my $json = JSON::PP->new->utf8->canonical;

# An HTTP request to our httpd as Blink's servers make it: method, path, headers (hash ref), body.
sub blink_call {
    my ($method, $path, %opt) = @_;
    my %h = exists $opt{headers} ? %{ $opt{headers} }
          : ('blink-auth-proxysecret' => SECRET, 'blink-auth-userid' => USER);
    my $req = HTTP::Request->new($method => Apache::TestRequest::resolve_url($path));
    $req->header($_ => $h{$_}) for keys %h;
    if (defined $opt{body}) {
        $req->content($opt{body});
        $req->header('Content-Length' => length $opt{body});
    }
    my $ua = LWP::UserAgent->new(max_redirect => 0, timeout => 30);
    return $ua->request($req);
}

# The decoded JSON body of a response, or undef when it is not JSON.
sub json_of {
    my ($res) = @_;
    my $data = eval { $json->decode($res->content) };
    return $data;
}

# The query parameters of a URL as a hash ref of name => value (last one wins).
sub query_of {
    my ($url) = @_;
    my %q = URI->new($url)->query_form;
    return \%q;
}

# The base URL of one of the fakes: 'blink' or 'provider'.
sub fake_url {
    my ($which) = @_;
    my $port = $ENV{ $which eq 'blink' ? 'BLINK_FAKE_BLINK_PORT' : 'BLINK_FAKE_PROVIDER_PORT' }
        or die "fake $which is not running (no port in the environment)";
    return "http://127.0.0.1:$port";
}

# GET a fake's path; returns the decoded JSON.
sub fake_get {
    my ($which, $path) = @_;
    my $res = LWP::UserAgent->new(timeout => 10)->get(fake_url($which) . $path);
    die "fake $which $path: " . $res->status_line unless $res->is_success;
    return $json->decode($res->content);
}

# POST JSON to a fake's path; returns the response.
sub fake_post {
    my ($which, $path, $data) = @_;
    my $res = LWP::UserAgent->new(timeout => 10)->post(fake_url($which) . $path,
        'Content-Type' => 'application/json', Content => $json->encode($data // {}));
    die "fake $which $path: " . $res->status_line unless $res->is_success;
    return $res;
}

# Queues a fault at a fake: fake_fault('provider', route => 'token', mode => 'status', status => 500).
sub fake_fault {
    my ($which, %fault) = @_;
    return fake_post($which, '/_control/fault', { count => 1, %fault });
}

# A GET as the user's browser makes it: absolute URL, no redirects followed.
sub browser_get {
    my ($url) = @_;
    return LWP::UserAgent->new(max_redirect => 0, timeout => 30)->get($url);
}

# Plays Blink's Connect for an app; returns the authorization URL.
sub start_connect {
    my (%opt) = @_;
    my $prefix = $opt{prefix} // '/blink';
    my $res = blink_call(POST => "$prefix/auth/" . ($opt{auth_id} // AUTH_ID), %opt);
    die 'connect failed: ' . $res->status_line . ' ' . $res->content unless $res->code == 200;
    return json_of($res)->{data}{authorization_url};
}

# Follows an authorization URL through the fake provider; returns the callback URL it redirects to.
sub callback_url_for {
    my ($authorization_url) = @_;
    my $res = browser_get($authorization_url);
    die 'authorize did not redirect: ' . $res->status_line . ' ' . $res->content unless $res->code == 302;
    return $res->header('Location');
}

# The linked accounts the fake Blink holds for a user (all users when none is given).
sub accounts_of {
    my ($user) = @_;
    return [ grep { !defined $user || $_->{user_id} eq $user } @{ fake_get('blink', '/_control/accounts') } ];
}

# Forgets everything both fakes recorded, stored and were told.
sub fake_reset {
    fake_post($_, '/_control/reset') for qw(blink provider);
}

1;
