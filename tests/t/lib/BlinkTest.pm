# Helpers shared by the mod_blinkauth Apache::Test scripts: playing Blink, reading JSON, the fakes.
package BlinkTest;
use strict;
use warnings;

use Exporter 'import';
use HTTP::Cookies ();
use JSON::PP ();
use LWP::UserAgent ();
use HTTP::Request ();
use URI ();
use URI::Escape ();
use Apache::TestRequest ();

our @EXPORT = qw(blink_call json_of query_of fake_get fake_post fake_reset fake_fault
                 browser_get browser_forget browser_cookies_for open_start start_connect callback_url_for accounts_of
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

# The browser's cookies: the start URL sets one that the callback must bring back.
my $jar = HTTP::Cookies->new;

# A GET as the user's browser makes it: absolute URL, no redirects followed, the browser's cookies kept and sent.
sub browser_get {
    my ($url) = @_;
    return LWP::UserAgent->new(max_redirect => 0, timeout => 30, cookie_jar => $jar)->get($url);
}

# Forgets the browser's cookies (a second browser, say).
sub browser_forget { $jar->clear }

# The Cookie header the browser would send with a request for url ('' when none).
sub browser_cookies_for {
    my ($url) = @_;
    my $req = HTTP::Request->new(GET => $url);
    $jar->add_cookie_header($req);
    return $req->header('Cookie') // '';
}

# Opens a start URL in the browser: returns the provider URL it is sent on to (303) and the cookie it got as
# "name=value".
sub open_start {
    my ($url) = @_;
    my $res = browser_get($url);
    die 'the start URL did not redirect: ' . $res->status_line . ' ' . $res->content unless $res->code == 303;
    my ($cookie) = ($res->header('Set-Cookie') // '') =~ /^([^;]+)/;
    return ($res->header('Location'), $cookie);
}

# Plays Blink's Connect for an app; returns the authorization URL.
sub start_connect {
    my (%opt) = @_;
    my $prefix = $opt{prefix} // '/blink';
    my $res = blink_call(POST => "$prefix/auth/" . ($opt{auth_id} // AUTH_ID), %opt);
    die 'connect failed: ' . $res->status_line . ' ' . $res->content unless $res->code == 200;
    return json_of($res)->{data}{authorization_url};
}

# Follows the authorization URL Connect answered (our start URL, then the fake provider) as the browser; returns
# the callback URL the provider redirects to (the browser keeps the start URL's cookie).
sub callback_url_for {
    my ($authorization_url) = @_;
    ($authorization_url) = open_start($authorization_url) if $authorization_url =~ m{/start/[A-Za-z0-9_-]{43,}$};
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


# --- Raw HTTP, the fakes' records, the error and access logs (t/hostile, t/upstream, t/secrets).

use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes ();

push @EXPORT, qw(raw_request vhost_hostport fake_call fake_routes log_lines_of);

# host:port of an Apache::Test <VirtualHost name> of extra.conf.in (the main server for undef).
sub vhost_hostport {
    my ($name) = @_;
    my $old = Apache::TestRequest::module();
    Apache::TestRequest::module($name // 'default');
    my $hostport = Apache::TestRequest::hostport();
    Apache::TestRequest::module($old);
    return $hostport;
}

# Sends bytes to our httpd exactly as given, then reads the answer until the server closes or limit
# seconds pass. head: request line and header lines, each ending in CRLF (the blank line is added).
# body: bytes, sent with a Content-Length unless head has one or Transfer-Encoding; or one of
#   'chunked:N*S' (N chunks of S bytes, then the last chunk), 'endless' (8 KiB chunks, never the last),
#   'stall:N' (Content-Length N, nothing sent), 'drip:MS' (one 1-byte chunk every MS ms, never the last);
# the never-ending forms stop sending once the server answers.
# Returns { status, reason, headers => { lower-case name => value }, body, elapsed, closed }.
sub raw_request {
    my ($head, %opt) = @_;
    my $hostport = $opt{hostport} // vhost_hostport();
    my $limit = $opt{limit} // 30;
    my $body = $opt{body};
    my (@pieces, $feed, $interval);
    if (!defined $body) {
    }
    elsif ($body =~ /^chunked:(\d+)\*(\d+)$/) {
        $head .= "Transfer-Encoding: chunked\r\n";
        @pieces = ((map { sprintf("%x\r\n%s\r\n", $2, 'c' x $2) } 1 .. $1), "0\r\n\r\n");
    }
    elsif ($body eq 'endless') {
        $head .= "Transfer-Encoding: chunked\r\n";
        $feed = sub { sprintf("%x\r\n%s\r\n", 8192, 'e' x 8192) };
        $interval = 0;
    }
    elsif ($body =~ /^stall:(\d+)$/) {
        $head .= "Content-Length: $1\r\n";
    }
    elsif ($body =~ /^drip:(\d+)$/) {
        $head .= "Transfer-Encoding: chunked\r\n";
        $feed = sub { "1\r\nd\r\n" };
        $interval = $1 / 1000;
    }
    else {
        $head .= 'Content-Length: ' . length($body) . "\r\n" unless $head =~ /^(content-length|transfer-encoding):/mi;
        @pieces = ($body);
    }
    local $SIG{PIPE} = 'IGNORE';
    my $sock = IO::Socket::INET->new(PeerAddr => $hostport, Timeout => 10) or die "connect $hostport: $!";
    binmode $sock;
    my $started = Time::HiRes::time();
    my $pending = join '', "$head\r\n", @pieces;
    my ($answer, $closed, $next_feed) = ('', 0, $started);
    my $select = IO::Select->new($sock);
    while (Time::HiRes::time() - $started < $limit) {
        if (length $pending) {
            my $n = syswrite($sock, $pending, 65536);
            $pending = defined $n ? substr($pending, $n) : '';    # a refused write: read what came back
        }
        elsif ($feed && $answer eq '' && Time::HiRes::time() >= $next_feed) {
            $pending = $feed->();
            $next_feed = Time::HiRes::time() + $interval;
            next;
        }
        my $wait = length $pending || ($feed && $answer eq '') ? ($interval // 0) : 0.5;
        next unless $select->can_read($wait);
        my $n = sysread($sock, my $buf, 65536);
        if (!$n) {
            $closed = 1;
            last;
        }
        $answer .= $buf;
        $pending = '';
    }
    my $elapsed = Time::HiRes::time() - $started;
    close $sock;
    my ($top, $rest) = split /\r\n\r\n/, $answer, 2;
    my ($status, $reason) = ($top // '') =~ m{^HTTP/\d\.\d (\d{3}) ?([^\r\n]*)};
    my %headers;
    for (split /\r\n/, $top // '') {
        $headers{ lc $1 } = $2 if /^([^:\s]+):\s*(.*)$/;
    }
    $rest //= '';
    if (($headers{'transfer-encoding'} // '') =~ /chunked/i) {
        my $decoded = '';
        while ($rest =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $size = hex $1;
            last if $size == 0;
            $decoded .= substr($rest, 0, $size, '');
            $rest =~ s/^\r\n//;
        }
        $rest = $decoded;
    }
    return { status => $status // 0, reason => $reason, headers => \%headers, body => $rest,
             elapsed => $elapsed, closed => $closed };
}

# A control call to any fake of tests/lib/fakes.sh: blink, provider, witness, or tls_blink (over
# HTTPS, trusting the test CA); returns the decoded JSON answer.
sub fake_call {
    my ($which, $method, $path, $data) = @_;
    my $port = $ENV{ 'BLINK_FAKE_' . uc($which) . '_PORT' } or die "fake $which is not running (no port)";
    my $tls = $which eq 'tls_blink';
    my $ua = LWP::UserAgent->new(timeout => 10,
        $tls ? (ssl_opts => { SSL_ca_file => $ENV{BLINK_TEST_CA_FILE}, verify_hostname => 1 }) : ());
    my $req = HTTP::Request->new($method => ($tls ? 'https' : 'http') . "://127.0.0.1:$port$path");
    if (defined $data) {
        $req->header('Content-Type' => 'application/json');
        $req->content($json->encode($data));
    }
    my $res = $ua->request($req);
    die "fake $which $method $path: " . $res->status_line unless $res->is_success;
    return $json->decode($res->content);
}

# The routes a fake has been asked for since its last reset, in order.
sub fake_routes {
    my ($which) = @_;
    return [ map { $_->{route} // '?' } @{ fake_call($which, GET => '/_control/requests') } ];
}

# The lines of t_finish_*_watch that came from mod_blinkauth ([blinkauth:level]).
sub log_lines_of {
    return grep { /\[blinkauth:/ } @_;
}

# --- Secrets in logs (t/secrets/logs.t, t/act/trace.t).

push @EXPORT, qw(file_text spellings leaked);

# The whole text of a file.
sub file_text {
    my ($file) = @_;
    open my $fh, '<:raw', $file or die "$file: $!";
    local $/;
    return scalar <$fh>;
}

# A value and its percent-encoded and form-encoded spellings; for a long random value also its
# middle 16 characters, so that a "masked" form that leaves most of it readable is caught as well.
sub spellings {
    my ($v) = @_;
    my @s = ($v, URI::Escape::uri_escape($v), URI::Escape::uri_escape($v) =~ s/%20/+/gr);
    push @s, substr($v, int(length($v) / 2) - 8, 16) if length $v >= 32;
    return @s;
}

# The names of the values of %$values found in text.
sub leaked {
    my ($text, $values) = @_;
    my @found;
    for my $name (sort keys %$values) {
        push @found, $name if grep { index($text, $_) >= 0 } spellings($values->{$name});
    }
    return @found ? join('; ', @found) : 'none';
}

1;
