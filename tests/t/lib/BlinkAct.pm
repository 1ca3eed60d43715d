# Helpers of the t/act scripts (acting for the user: AuthType Blink <Location>s of extra.conf.in, proxied to the echo
# backend): seeding linked accounts and provider grants, reading what the fakes and the backend saw, concurrent actions.
package BlinkAct;
use strict;
use warnings;

use Exporter 'import';
use POSIX ();
use Time::HiRes ();
use LWP::UserAgent ();
use MIME::Base64 ();
use URI::Escape ();
use Apache::Test ();
use Apache::TestUtil qw(t_cmp);
use File::Spec ();
use BlinkTest;

our @EXPORT = qw(reset_act rfc3339 issue seed_account linked_account account_now provider_options connect_app flag
                 act echo_seen echo_one backend_authorization refreshes refresh_tokens_sent updates lists forget_requests is_error
                 nothing_proxied concurrent_actions provider_refresh newest_token access_log_user
                 CLIENT_ID CLIENT_SECRET);

use constant CLIENT_ID     => 'test client&1';    # the /blink and /keyed apps' client at the fake provider
use constant CLIENT_SECRET => 'client-secret';

# Forgets what the fakes and the echo backend recorded and hold; the provider's options go back to their defaults.
sub reset_act {
    fake_reset();
    fake_call('echo', POST => '/_control/reset', {});
}

# An RFC 3339 UTC date-time (Blink's expiry form) offset seconds from now.
sub rfc3339 {
    my ($offset) = @_;
    return POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + $offset));
}

# A grant the fake provider made without a browser: { access_token, refresh_token, expires_in, ... }.
sub issue {
    return fake_call('provider', POST => '/_control/issue', {});
}

# Stores a linked account in the fake Blink as given (user u-42 and the main app's Auth ID unless said otherwise);
# returns it as stored.
sub seed_account {
    my (%fields) = @_;
    return fake_call('blink', POST => '/_control/accounts',
                     { user_id => USER, auth_id => AUTH_ID, external_account_id => 'alice@example.test', %fields });
}

# A linked account whose tokens the provider issued: expires => seconds from now (undef: no expiry), and any other
# account field; returns { id, access_token, refresh_token, expiry, ... } as Blink holds it.
sub linked_account {
    my (%opt) = @_;
    my $grant = issue();
    my $expires = exists $opt{expires} ? delete $opt{expires} : 3600;
    return seed_account(access_token => $grant->{access_token}, refresh_token => $grant->{refresh_token},
                        defined $expires ? (expiry => rfc3339($expires)) : (), %opt);
}

# The linked account with this id as the fake Blink holds it now (undef when gone).
sub account_now {
    my ($id) = @_;
    my ($acct) = grep { $_->{id} eq $id } @{ accounts_of() };
    return $acct;
}

# A JSON boolean as 'true' or 'false' ('(absent)' for undef).
sub flag {
    my ($value) = @_;
    return !defined $value ? '(absent)' : $value ? 'true' : 'false';
}

# Connects USER for real through an app (prefix, auth_id): Connect, start URL, provider, callback; returns the linked
# account of that Auth ID Blink then holds.
sub connect_app {
    my ($prefix, $auth_id) = @_;
    my $res = browser_get(callback_url_for(start_connect(prefix => $prefix, auth_id => $auth_id)));
    die "connect through $prefix failed: " . $res->code . ' ' . $res->content unless $res->code == 200;
    my ($acct) = grep { $_->{auth_id} eq $auth_id } @{ accounts_of(USER) };
    return $acct;
}

# Changes the fake provider's options (expires_in, rotate_refresh, reuse_revokes, ...).
sub provider_options {
    my (%options) = @_;
    return fake_call('provider', POST => '/_control/options', \%options);
}

# An action: the request Blink's servers make for a user to an AuthType Blink path. user => id (default u-42; undef: none),
# secret => proxy secret (default the main app's; undef: none), headers => extra headers, method, body.
sub act {
    my ($path, %opt) = @_;
    my %headers = ('blink-auth-proxysecret' => exists $opt{secret} ? $opt{secret} : SECRET,
                   'blink-auth-userid' => exists $opt{user} ? $opt{user} : USER, %{ $opt{headers} // {} });
    delete $headers{$_} for grep { !defined $headers{$_} } keys %headers;
    return blink_call($opt{method} // 'GET', $path, headers => \%headers,
                      defined $opt{body} ? (body => $opt{body}) : ());
}

# The requests the echo backend received since the last reset, oldest first.
sub echo_seen {
    return fake_call('echo', GET => '/_control/requests');
}

# The one request the backend received (undef, and a diagnostic, when it received none or more).
sub echo_one {
    my $seen = echo_seen();
    return $seen->[0] if @$seen == 1;
    print STDERR "# ", 'the backend received ' . scalar(@$seen) . ' requests', "\n";
    return undef;
}

# The Authorization header of the one request the backend received ('(none)' when there was none).
sub backend_authorization {
    return ((echo_one() // {})->{headers} // {})->{authorization} // '(none)';
}

# The refresh grants the fake provider received (its route "refresh"), oldest first.
sub refreshes {
    return fake_call('provider', GET => '/_control/requests?route=refresh');
}

# The refresh tokens the refresh grants presented, comma-separated, oldest first.
sub refresh_tokens_sent {
    return join ',', map { $_->{form}{refresh_token} // '(none)' } @{ refreshes() };
}

# The Update (PATCH) requests the fake Blink received, oldest first.
sub updates {
    return fake_call('blink', GET => '/_control/requests?route=update');
}

# The List requests the fake Blink received, oldest first.
sub lists {
    return fake_call('blink', GET => '/_control/requests?route=list');
}

# Forgets the requests the fakes and the backend recorded; what they hold stays.
sub forget_requests {
    fake_call($_, DELETE => '/_control/requests') for qw(blink provider echo);
}

# Asserts an error answer: status, Blink's envelope code, a message, and JSON (3 tests).
sub is_error {
    my ($res, $status, $code, $what) = @_;
    my $body = json_of($res) // {};
    Test::ok(t_cmp($res->code, $status, "$what: status $status"));
    Test::ok(t_cmp(($body->{code} // '(none)') . ' ' . (length($body->{message} // '') ? 'with a message' : 'no message'),
             "$code with a message", "$what: code $code"));
    Test::ok(t_cmp($res->header('Content-Type') // '', qr{^application/json\b}, "$what: JSON"));
    return $body;
}

# Asserts that the backend received nothing (1 test).
sub nothing_proxied {
    my ($what) = @_;
    Test::ok(t_cmp(scalar @{ echo_seen() }, 0, "$what: nothing reached the backend"));
}

# n actions to path started together (each in a process of its own); returns their statuses, sorted.
sub concurrent_actions {
    my ($n, $path, %opt) = @_;
    my @pipes;
    for (1 .. $n) {
        my $pid = open(my $fh, '-|') // die "fork: $!";
        if (!$pid) {
            my $code = eval { act($path, %opt)->code } // 0;
            print "$code\n";
            POSIX::_exit(0);
        }
        push @pipes, $fh;
    }
    my @codes;
    for my $fh (@pipes) {
        chomp(my $code = <$fh> // 0);
        push @codes, $code;
        close $fh;
    }
    return sort @codes;
}

# A refresh grant at the fake provider made by someone else (another server of the app): the token response.
sub provider_refresh {
    my ($refresh_token) = @_;
    my $basic = MIME::Base64::encode_base64(URI::Escape::uri_escape(CLIENT_ID) . ':' . URI::Escape::uri_escape(CLIENT_SECRET), '');
    my $res = LWP::UserAgent->new(timeout => 10)->post("http://127.0.0.1:$ENV{BLINK_FAKE_PROVIDER_PORT}/token",
        Authorization => "Basic $basic", Content => { grant_type => 'refresh_token', refresh_token => $refresh_token });
    die 'refresh at the provider: ' . $res->status_line . ' ' . $res->content unless $res->is_success;
    return json_of($res);
}

# The token of a type ('access' or 'refresh') the fake provider issued last.
sub newest_token {
    my ($type) = @_;
    my @issued = grep { $_->{type} eq $type } @{ fake_call('provider', GET => '/_control/tokens') };
    return @issued ? $issued[-1]{token} : undef;
}

# The user (%u) of the access log line of the request whose request line holds marker, made by code. The log is read
# afresh from where it ended before, until the line is there (it is written after the answer) or 5 s pass.
sub access_log_user {
    my ($marker, $code) = @_;
    my $file = File::Spec->catfile(Apache::Test::vars('t_logs'), 'access_log');
    my $start = -s $file // 0;
    $code->();
    my ($line, $until) = (undef, Time::HiRes::time() + 5);
    while (!defined $line && Time::HiRes::time() < $until) {
        open my $fh, '<', $file or die "$file: $!";
        seek $fh, $start, 0;
        ($line) = grep { index($_, $marker) >= 0 } <$fh>;
        close $fh;
        Time::HiRes::sleep(0.05) unless defined $line;
    }
    return '(no line)' unless defined $line;
    # Common Log Format: host ident user [time] "request" status bytes
    return $line =~ /^\S+ \S+ (\S+) \[/ ? $1 : "(unparsed: $line)";
}

1;
