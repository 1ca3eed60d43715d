# The authorization code stays out of the access log also when httpd refuses a callback before the module's
# handler runs: a Require rule of the Location, a malformed Content-Length, a body over LimitRequestBody.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp t_start_file_watch t_read_file_watch t_finish_file_watch);
use Time::HiRes ();
use lib 't/lib';
use BlinkTest;

my @cases = (
    # name, request head (the code is CODE), status httpd answers
    ['a Require rule of the Location', "GET /blink/denied/callback?code=CODE&state=s HTTP/1.1\r\nHost: x\r\n", 403],
    ['a malformed Content-Length', "GET /blink/callback?code=CODE&state=s HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n", 400],
    ['a body over LimitRequestBody', "POST /blink/limited/callback?code=CODE&state=s HTTP/1.1\r\nHost: x\r\n"
        . "Content-Length: 100000\r\n", 413],
    ['a code in a path of no app', "GET /elsewhere/callback?code=CODE HTTP/1.1\r\nHost: x\r\n", 404],
);

plan tests => 3 * @cases;

# The access log lines written while a request is answered.
sub access_lines_of {
    my ($head) = @_;
    t_start_file_watch('access_log');
    my $res = raw_request($head . "Connection: close\r\n", hostport => vhost_hostport(), limit => 10);
    my @lines;
    my $until = Time::HiRes::time() + 5;
    while (Time::HiRes::time() < $until && !@lines) {
        push @lines, grep { defined } t_read_file_watch('access_log');
        Time::HiRes::sleep(0.05) unless @lines;
    }
    push @lines, grep { defined } t_finish_file_watch('access_log');
    return ($res, @lines);
}

for my $i (0 .. $#cases) {
    my ($name, $head, $status) = @{ $cases[$i] };
    my $code = "SeCrEt-CoDe-$i";
    (my $request = $head) =~ s/CODE/$code/;
    my ($res, @lines) = access_lines_of($request);
    ok t_cmp($res->{status}, $status, "$name: httpd answers $status itself");
    ok t_cmp(scalar(@lines), 1, "$name: one access log line");
    ok t_cmp(join('', @lines) =~ /\Q$code\E/ ? 'logged' : 'redacted', 'redacted', "$name: the code is not in it");
}
