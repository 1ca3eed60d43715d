# Acting for the user on two servers; sourced by run.sh, whose helpers and settings it uses (client, check,
# start_flow, servers_start, the fakes' ports, $work, $base_a, $base_b).
# Blink calls <Location /blink/me> (AuthType Blink, proxied to the fake provider's userinfo: its answer is the
# user's claims for a live access token only) on A and B for a user whose saved access token is stale. The
# provider rotates refresh tokens: each refresh consumes the refresh token presented and issues a new one.

# The act phases' line of the app (inside <Location /blink>): the key of the sealed token copy, one for both servers.
act_conf() { printf '    BlinkAuthTokenKey file:%s\n' "$work/token-key"; }

# The act phases' AuthType Blink Location: the fake provider's userinfo stands for the external API.
act_location() {
    cat <<CONF
<Location /blink/me>
    AuthType Blink
    Require blink-linked-account
    ProxyPass "http://127.0.0.1:$BLINK_FAKE_PROVIDER_PORT/userinfo"
</Location>
CONF
}

# Writes the token key both servers read (48 random base64 characters).
act_key() { head -c 36 /dev/urandom | base64 | tr -d '\n' >"$work/token-key"; }

# Sets options of the fake provider (a JSON object, POST /_control/options).
provider_options() { [ "$(client post-json "$BLINK_FAKE_PROVIDER_PORT" /_control/options "$1")" = 200 ]; }

# Fields of USER's only linked account in the fake Blink, as JSON values, space-separated.
blink_fields() {
    local user=$1 field out=()
    shift
    for field in "$@"; do out+=("$(client account "$BLINK_FAKE_BLINK_PORT" "$user" "$field")"); done
    echo "${out[*]}"
}

# Connects USER (a Blink user id), who signs in at the provider as SUB: Connect on A, callback on B. The access
# token the callback saves lives 30 s, less than BlinkAuthRefreshBefore's default 60: it is stale from the
# start. The tokens issued afterwards live an hour again.
act_connect() {
    local user=$1 sub=$2 status ms title
    client post-json "$BLINK_FAKE_PROVIDER_PORT" /_control/user \
        "{\"sub\":\"$sub\",\"email\":\"$sub@example.test\",\"email_verified\":true}" >/dev/null
    provider_options '{"expires_in": 30}' || { DETAIL="the provider refused its options"; return 1; }
    start_flow "$user" || return 1
    read -r status ms title < <(client get "$CB")
    provider_options '{"expires_in": true}'
    [ "$status $title" = "200 Connected" ] || { DETAIL="callback on B: $status $title"; return 1; }
}

# One token cache for both servers (Redis) and one key: 12 actions at once, half on A and half on B, make one
# refresh, at a provider that revokes the whole grant when a consumed refresh token comes again.
act_shared_cases() {
    local user=u-act-shared sub=act-shared before after answers want="" urls=() i live
    if ! provider_options '{"rotate_refresh": true, "reuse_revokes": true}'; then
        bad "act shared: the fake provider has no rotation mode (rotate_refresh, reuse_revokes)"
        return
    fi
    if ! act_connect "$user" "$sub"; then bad "act shared: connect (Connect on A, callback on B) ($DETAIL)"; return; fi
    read -r before _ < <(client refreshes "$BLINK_FAKE_PROVIDER_PORT")
    for i in 1 2 3 4 5 6; do urls+=("$base_a/me" "$base_b/me"); want+=" 200/$sub 200/$sub"; done
    answers=$(client act "$user" "${urls[@]}")
    DETAIL="answers: $answers"
    check "act shared: 12 actions at once with a stale token, 6 on A and 6 on B: 12 × 200 with the user's claims (userinfo)" \
        test " $answers" = "$want"
    read -r after _ < <(client refreshes "$BLINK_FAKE_PROVIDER_PORT")
    DETAIL="refresh_token grants before $before, after $after"
    check "act shared: ... and the provider saw exactly one refresh" test "$after" = "$((before + 1))"
    live=$(client live-refresh "$BLINK_FAKE_PROVIDER_PORT" "$sub")
    DETAIL="Blink: $(blink_fields "$user" refresh_token reauth_required); the provider's live refresh tokens: $live"
    check "act shared: ... Blink holds the rotated refresh token (the user's only live one at the provider), reauth_required false" \
        test "$(blink_fields "$user" refresh_token reauth_required)" = "\"$live\" false"
    answers=$(client act "$user" "$base_a/me" "$base_b/me")
    read -r after _ < <(client refreshes "$BLINK_FAKE_PROVIDER_PORT")
    DETAIL="answers: $answers; refresh_token grants before $before, now $after"
    check "act shared: ... then an action on A and one on B: 200 each, no further refresh" \
        test "$answers $after" = "200/$sub 200/$sub $((before + 1))"
    provider_options '{"rotate_refresh": false, "reuse_revokes": false}'
}

# A token cache of each server's own (shmcb): no lease between them. The callback on B leaves B's copy with the
# stale token; A (no copy: it asks Blink) refreshes first and saves the rotated tokens in Blink; then B refreshes
# with the refresh token A consumed, is refused (invalid_grant), reads Blink again and takes A's token.
# (A provider that revokes the grant on reuse, as oidc-provider does, would end the link here: the reason to
# share the token cache between servers.)
act_own_caches_cases() {
    local user=u-act-own sub=act-own n0 d0 n1 d1 answer live
    if ! provider_options '{"rotate_refresh": true, "reuse_revokes": false}'; then
        bad "act own caches: the fake provider has no rotation mode (rotate_refresh)"
        return
    fi
    if ! act_connect "$user" "$sub"; then bad "act own caches: connect (Connect on A, callback on B) ($DETAIL)"; return; fi
    read -r n0 d0 < <(client refreshes "$BLINK_FAKE_PROVIDER_PORT")
    answer=$(client act "$user" "$base_a/me")
    DETAIL="$answer"
    check "act own caches: an action on A with the stale token: 200 with the user's claims" test "$answer" = "200/$sub"
    answer=$(client act "$user" "$base_b/me")
    DETAIL="$answer"
    check "act own caches: then one on B, whose copy holds the refresh token A used up: 200 with the user's claims, not 401 REAUTH_REQUIRED" \
        test "$answer" = "200/$sub"
    read -r n1 d1 < <(client refreshes "$BLINK_FAKE_PROVIDER_PORT")
    DETAIL="refresh_token grants: $((n1 - n0)), with $((d1 - d0)) refresh token(s)"
    check "act own caches: ... B did refresh with its copy's refresh token (two refreshes with one refresh token), then took A's from Blink" \
        test "$((n1 - n0)) $((d1 - d0))" = "2 1"
    live=$(client live-refresh "$BLINK_FAKE_PROVIDER_PORT" "$sub")
    DETAIL="Blink: $(blink_fields "$user" refresh_token reauth_required); the provider's live refresh tokens: $live"
    check "act own caches: ... Blink holds A's rotated refresh token (the user's only live one at the provider), reauth_required false" \
        test "$(blink_fields "$user" refresh_token reauth_required)" = "\"$live\" false"
    answer=$(client act "$user" "$base_b/me")
    read -r n1 d1 < <(client refreshes "$BLINK_FAKE_PROVIDER_PORT")
    DETAIL="$answer; refresh_token grants since the connect: $((n1 - n0))"
    check "act own caches: ... B's next action: 200, no further refresh" test "$answer $((n1 - n0))" = "200/$sub 2"
    provider_options '{"rotate_refresh": false}'
}

# No child of A or B died of a signal since their error logs had LINES_A and LINES_B lines.
act_no_crash() {
    local hits
    hits=$(tail -n +"$(($1 + 1))" "$work/A/logs/error_log" 2>/dev/null; tail -n +"$(($2 + 1))" "$work/B/logs/error_log" 2>/dev/null)
    hits=$(grep -E "exit signal|Segmentation fault|AH00052|AH00060|seg fault|core dumped" <<<"$hits")
    [ -z "$hits" ] || { DETAIL=$(head -3 <<<"$hits"); return 1; }
}
