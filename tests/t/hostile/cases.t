# The hostile-input catalogue (catalogue.txt, one case a line): each request gets its defined answer,
# mod_blinkauth logs one clear line about it (or nothing, when httpd refused the request itself),
# the access log has it, and nothing reaches the upstreams or is saved in Blink.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp t_start_error_log_watch t_finish_error_log_watch t_start_file_watch
                      t_read_file_watch t_finish_file_watch);
use File::Spec ();
use JSON::PP ();
use Time::HiRes ();
use lib 't/lib';
use BlinkTest;

my %BYTE = (r => "\r", n => "\n", t => "\t", 0 => "\0", '\\' => '\\', '|' => '|');

# A fresh connect whose start URL the browser opened: its state and the cookie the start URL set ("name=value").
sub connect_state {
    my ($provider_url, $cookie) = open_start(start_connect());
    return (query_of($provider_url)->{state}, $cookie);
}

# Placeholders, then {X*N} repetition, then the backslash escapes of catalogue.txt.
sub expand {
    my ($text, $vars) = @_;
    $text =~ s#\{(secret|user|state)\}#$vars->{$1} // die "no value for {$1}\n"#ge;
    $text =~ s/\{([^{}*]+)\*(\d+)\}/$1 x $2/ge;
    $text =~ s/\\(?:x([0-9a-fA-F]{2})|([rnt0\\|]))/defined $1 ? chr(hex $1) : $BYTE{$2}/ge;
    return $text;
}

# A regex field: only \| stands for '|' (the regex engine knows the other escapes).
sub regex_of {
    my ($text) = @_;
    $text =~ s/\\\|/|/g;
    return qr/$text/s;
}

# The cases of catalogue.txt as hashes.
sub catalogue {
    my $file = File::Spec->catfile(Apache::Test::vars('t_dir'), 'hostile', 'catalogue.txt');
    open my $fh, '<', $file or die "$file: $!";
    my @cases;
    while (my $line = <$fh>) {
        chomp $line;
        next if $line =~ /^\s*(#|$)/;
        my @f = map { s/^\s+|\s+$//gr } split /(?<!\\)\|/, $line, -1;
        die "$file line $.: expected 8 or 9 fields, got " . @f . "\n" unless @f == 8 || @f == 9;
        my %c = (line => $., name => $f[0], method => $f[1], target => $f[2], headers => $f[3], body => $f[4],
                 status => $f[5], log => $f[7], reach => { map { $_ => 1 } grep { $_ ne '-' } split /\s*,\s*/, $f[8] // '-' });
        $c{expect} = [ grep { $_ ne '-' } split /\s*&&\s*/, $f[6] ];
        die "$file line $.: status must be 3 digits\n" unless $c{status} =~ /^\d{3}$/;
        for (@{ $c{expect} }) {
            die "$file line $.: unknown expectation '$_'\n" unless /^([A-Z_]+|!?\/.*\/|<\d+s)$/;
        }
        push @cases, \%c;
    }
    return @cases;
}

# The header lines of a case.
sub header_lines {
    my ($c, $vars) = @_;
    return '' if $c->{headers} eq '-';
    my $lines = '';
    for my $item (split /\s*&&\s*/, $c->{headers}) {
        $item = $item eq 'secret' ? 'S: {secret}' : $item eq 'user' ? 'U: {user}' : $item;
        $item =~ s/^S:\s?/blink-auth-proxysecret: /;
        $item =~ s/^U:\s?/blink-auth-userid: /;
        $lines .= expand($item, $vars) . "\r\n";
    }
    return $lines;
}

# Waits (briefly) for the access log to record the request; returns the new lines.
sub access_lines {
    my @lines;
    my $until = Time::HiRes::time() + 5;
    while (Time::HiRes::time() < $until) {
        push @lines, grep { defined } t_read_file_watch('access_log');
        last if @lines;
        Time::HiRes::sleep(0.05);
    }
    push @lines, grep { defined } t_finish_file_watch('access_log');
    return @lines;
}

my @cases = catalogue();
my $tests = 0;
$tests += 4 + @{ $_->{expect} } for @cases;
plan tests => $tests, need_lwp;

my $main = vhost_hostport();
my $slow = vhost_hostport('blinkauth_slow');

for my $c (@cases) {
    my $what = "$c->{name} (line $c->{line})";
    fake_reset();
    my %vars = (secret => SECRET, user => USER);
    my $cookie;
    # A fresh connect, its start URL opened: the state, and the cookie the callback must bring.
    ($vars{state}, $cookie) = connect_state() if "$c->{target} $c->{headers}" =~ /\{state\}/;

    my ($target, $hostport) = ($c->{target}, $main);
    ($target, $hostport) = ($1, $slow) if $target =~ /^\@slow(.*)$/;
    my $head = expand("$c->{method} $target HTTP/1.1", \%vars) . "\r\nHost: $hostport\r\n"
             . header_lines($c, \%vars) . ($cookie ? "Cookie: $cookie\r\n" : '') . "Connection: close\r\n";
    my $body = $c->{body} eq '-' ? undef
             : $c->{body} =~ /^(chunked:\d+\*\d+|endless|stall:\d+|drip:\d+)$/ ? $c->{body}
             : expand($c->{body}, \%vars);

    t_start_error_log_watch();
    t_start_file_watch('access_log');
    my $res = raw_request($head, hostport => $hostport, body => $body, limit => 30);
    my @access = access_lines();
    my @ours = log_lines_of(t_finish_error_log_watch());

    ok t_cmp($res->{status}, $c->{status}, "$what: status");
    for my $e (@{ $c->{expect} }) {
        if ($e =~ /^[A-Z_]+$/) {
            my $j = eval { JSON::PP->new->decode($res->{body}) };
            ok t_cmp(($res->{headers}{'content-type'} // '') . ' ' . (($j // {})->{code} // '(not JSON)'),
                     "application/json; charset=utf-8 $e", "$what: JSON envelope with code $e");
        }
        elsif ($e =~ /^!\/(.*)\/$/) {
            my $re = regex_of($1);
            ok t_cmp($res->{body} =~ $re ? "reflected: $&" : 'absent', 'absent', "$what: body has no $re");
        }
        elsif ($e =~ /^\/(.*)\/$/) {
            ok t_cmp($res->{body}, regex_of($1), "$what: body");
        }
        elsif ($e =~ /^<(\d+)s$/) {
            # A generous bound: it proves the request was cut off, not how fast.
            ok t_cmp(sprintf('%.1f', $res->{elapsed}) < $1 ? 'bounded' : sprintf('took %.1f s', $res->{elapsed}),
                     'bounded', "$what: answered within $1 s");
        }
    }
    if ($c->{log} eq 'none') {
        ok t_cmp(scalar(@ours) ? join('', @ours) : 'nothing', 'nothing', "$what: mod_blinkauth logs nothing");
    }
    else {
        my $re = regex_of($c->{log});
        ok t_cmp(scalar(@ours) == 1 && $ours[0] =~ $re ? 'one matching line' : scalar(@ours) . " line(s): @ours",
                 'one matching line', "$what: one log line matching $re");
    }
    ok t_cmp(scalar(grep { /" $c->{status} (\d+|-)$/ } @access), 1, "$what: one access log line with $c->{status}");

    my @reached = grep { !$c->{reach}{$_} } @{ fake_routes('blink') }, @{ fake_routes('provider') };
    my $saved = scalar @{ accounts_of() };
    ok t_cmp("reached: @reached; saved: $saved", 'reached: ; saved: 0', "$what: no upstream reached, nothing saved");
}
