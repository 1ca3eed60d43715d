#!/bin/bash
# Self-test of the fakes: start fake_blink, fake_provider and echo_backend on ephemeral ports, check happy
# paths and rejections with curl, stop them, and fail on any Python warning or leftover process.
set -u
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
tmp=$(mktemp -d)
pids=()
pass=0 fail=0

# stop: SIGTERM every fake we started and wait for it.
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done; }
trap 'stop; rm -rf "$tmp"' EXIT

# start NAME ARGS...: run a fake with -X dev (warnings on) and wait for its port file.
start() {
    local name=$1; shift
    "$py" -X dev "$here/$name.py" --port 0 --port-file "$tmp/$name.port" "$@" 2>"$tmp/$name.err" &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$tmp/$name.port" ] && return 0; sleep 0.05; done
    echo "$name did not start"; cat "$tmp/$name.err"; exit 1
}

# check LABEL EXPECTED ACTUAL: count and report one assertion.
check() {
    if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "ok   $1"
    else fail=$((fail + 1)); echo "FAIL $1: expected [$2] got [$3]"; fi
}

# req ARGS...: curl, body to $tmp/body, headers to $tmp/hdr, prints the status (000 on failure).
req() { curl -s -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' "$@"; }

# jget EXPR: evaluate a Python expression on the last JSON body (bound to d).
jget() { "$py" -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$tmp/body" 2>/dev/null; }

# hdr NAME: a header of the last response.
hdr() { grep -i "^$1:" "$tmp/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

start fake_blink --token app-token --auth-id a-1234
start fake_provider --client-id my-client --client-secret 's3:cr+et /x' --redirect-uri 'http://127.0.0.1:9/cb?x=1'
B=http://127.0.0.1:$(cat "$tmp/fake_blink.port")
P=http://127.0.0.1:$(cat "$tmp/fake_provider.port")
AUTH=(-H 'Authorization: Bearer app-token')
JSON=(-H 'Content-Type: application/json')

echo "== fake_blink"
check "add 201" 201 "$(req "${AUTH[@]}" "${JSON[@]}" -d '{"auth_id":"a-1234","external_account_id":"alice@example.test","access_token":"at","expiry":"2030-01-02T03:04:05Z","reauth_required":false}' "$B/v2/user/u%201/linked-accounts")"
ID=$(jget 'd["data"]["id"]')
check "add returns la- id and decoded user_id" "la- u 1" "${ID:0:3} $(jget 'd["data"]["user_id"]')"
check "get 200" "200 alice@example.test" "$(req "${AUTH[@]}" "$B/v2/user/u%201/linked-accounts/$ID") $(jget 'd["data"]["external_account_id"]')"
check "list 200" "200 1" "$(req "${AUTH[@]}" "$B/v2/user/u%201/linked-accounts") $(jget 'len(d["data"])')"
check "get for another user 404" "404 NOT_FOUND" "$(req "${AUTH[@]}" "$B/v2/user/bob/linked-accounts/$ID") $(jget 'd["code"]')"
check "wrong bearer 401" "401 UNAUTHORIZED" "$(req -H 'Authorization: Bearer nope' "$B/v2/user/u%201/linked-accounts/$ID") $(jget 'd["code"]')"
check "no bearer 401 before validation" "401" "$(req -X POST "$B/v2/user/a%2Fb/linked-accounts")"
check "missing auth_id 400 names it" "400 True" "$(req "${AUTH[@]}" "${JSON[@]}" -d '{"external_account_id":"x"}' "$B/v2/user/u/linked-accounts") $(jget '"auth_id" in d["message"]')"
check "wrong auth_id 400" 400 "$(req "${AUTH[@]}" "${JSON[@]}" -d '{"auth_id":"a-9","external_account_id":"x"}' "$B/v2/user/u/linked-accounts")"
check "unknown field 400" "400 True" "$(req "${AUTH[@]}" "${JSON[@]}" -d '{"auth_id":"a-1234","external_account_id":"x","color":"red"}' "$B/v2/user/u/linked-accounts") $(jget '"color" in d["message"]')"
check "wrong type 400" 400 "$(req "${AUTH[@]}" "${JSON[@]}" -d '{"auth_id":"a-1234","external_account_id":"x","reauth_required":"no"}' "$B/v2/user/u/linked-accounts")"
check "bad expiry 400" 400 "$(req "${AUTH[@]}" "${JSON[@]}" -d '{"auth_id":"a-1234","external_account_id":"x","expiry":"2030-01-02 03:04:05"}' "$B/v2/user/u/linked-accounts")"
check "form body 415" 415 "$(req "${AUTH[@]}" -d 'auth_id=a-1234' "$B/v2/user/u/linked-accounts")"
check "user id with %2F 400" 400 "$(req "${AUTH[@]}" "$B/v2/user/a%2Fb/linked-accounts")"
check "delete 200" 200 "$(req "${AUTH[@]}" -X DELETE "$B/v2/user/u%201/linked-accounts/$ID")"
check "get after delete 404" 404 "$(req "${AUTH[@]}" "$B/v2/user/u%201/linked-accounts/$ID")"
check "seed account" 201 "$(req "${JSON[@]}" -d '{"user_id":"u2","id":"la-seed","external_account_id":"bob"}' "$B/_control/accounts")"
check "control accounts" "200 la-seed" "$(req "$B/_control/accounts") $(jget 'd[0]["id"]')"
check "fault queued" 200 "$(req "${JSON[@]}" -d '{"route":"get","mode":"status","status":500}' "$B/_control/fault")"
check "fault status 500" 500 "$(req "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed")"
check "normal again after fault" 200 "$(req "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed")"
req "${JSON[@]}" -d '{"route":"*","mode":"status","status":429,"headers":{"Retry-After":"1"}}' "$B/_control/fault" >/dev/null
check "429 with Retry-After" "429 1" "$(req "${AUTH[@]}" "$B/v2/user/u2/linked-accounts") $(hdr Retry-After)"
req "${JSON[@]}" -d '{"route":"get","mode":"hang","seconds":3}' "$B/_control/fault" >/dev/null
curl -s -o /dev/null --max-time 1 "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed"
check "hang fault times out (curl 28)" 28 "$?"
check "served meanwhile" 200 "$(req "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed")"
req "${JSON[@]}" -d '{"route":"get","mode":"drip","seconds":3,"interval":0.2}' "$B/_control/fault" >/dev/null
curl -s -o /dev/null --max-time 1 "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed"
check "drip fault times out (curl 28)" 28 "$?"
req "${JSON[@]}" -d '{"route":"get","mode":"close"}' "$B/_control/fault" >/dev/null
curl -s -o /dev/null "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed"
check "close fault: empty reply (curl 52)" 52 "$?"
req "${JSON[@]}" -d '{"route":"get","mode":"garbage"}' "$B/_control/fault" >/dev/null
check "garbage fault" "200 <html>not json" "$(req "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed") $(cat "$tmp/body")"
req "${JSON[@]}" -d '{"route":"get","mode":"truncated"}' "$B/_control/fault" >/dev/null
check "truncated fault: invalid JSON" "200 " "$(req "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed") $(jget 1)"
req "${JSON[@]}" -d '{"route":"get","mode":"wrong_types"}' "$B/_control/fault" >/dev/null
check "wrong_types fault" "200 int int" "$(req "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed") $(jget 'type(d["code"]).__name__, type(d["data"]["id"]).__name__' | tr -d "(),'")"
req "${JSON[@]}" -d '{"route":"get","mode":"redirect"}' "$B/_control/fault" >/dev/null
check "redirect fault" "302 http://127.0.0.2:9/elsewhere" "$(req "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed") $(hdr Location)"
req "${JSON[@]}" -d '{"route":"get","mode":"huge","bytes":5000000}' "$B/_control/fault" >/dev/null
check "huge fault size" "200 5000000" "$(req "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed") $(stat -c %s "$tmp/body")"
req "${JSON[@]}" -d '{"route":"get","mode":"huge_chunked","bytes":3000000}' "$B/_control/fault" >/dev/null
check "huge_chunked fault" "200 3000000 chunked" "$(req "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed") $(stat -c %s "$tmp/body") $(hdr Transfer-Encoding)"
req "${JSON[@]}" -d '{"route":"get","mode":"huge"}' "$B/_control/fault" >/dev/null
curl -s -o /dev/null --max-filesize 100000 "${AUTH[@]}" "$B/v2/user/u2/linked-accounts/la-seed"
check "huge 50 MB fault refused by curl --max-filesize (63)" 63 "$?"
check "bad fault mode 400" 400 "$(req "${JSON[@]}" -d '{"route":"get","mode":"explode"}' "$B/_control/fault")"
check "requests recorded" "200 True" "$(req "$B/_control/requests?route=add") $(jget 'd[0]["headers"]["authorization"] == "Bearer app-token" and d[0]["json"]["auth_id"] == "a-1234"')"
check "reset" "200 0 0" "$(req -X POST "$B/_control/reset") $(req "$B/_control/requests" >/dev/null; jget 'len(d)') $(req "$B/_control/accounts" >/dev/null; jget 'len(d)')"
check "sandbox page is HTML" "200 text/html; charset=utf-8" "$(req "$B/") $(hdr Content-Type)"

echo "== fake_blink: List and Update as acting for the user uses them"
req "${JSON[@]}" -d '{"user_id":"u3","id":"la-u3","external_account_id":"carol","access_token":"at-3","refresh_token":"rt-3"}' "$B/_control/accounts" >/dev/null
check "list shows reauth_required (false unless set)" "200 False" "$(req "${AUTH[@]}" "$B/v2/user/u3/linked-accounts") $(jget 'd["data"][0]["reauth_required"]')"
U3=(-X PATCH "${AUTH[@]}" "$B/v2/user/u3/linked-accounts/la-u3")
check "update the token fields" "200 at-4 rt-4 2031-01-02T03:04:05Z True" "$(req "${U3[@]}" "${JSON[@]}" -d '{"access_token":"at-4","refresh_token":"rt-4","expiry":"2031-01-02T03:04:05Z","reauth_required":true}') $(jget '" ".join(str(d["data"][k]) for k in ("access_token","refresh_token","expiry","reauth_required"))')"
check "list shows reauth_required true" "200 True" "$(req "${AUTH[@]}" "$B/v2/user/u3/linked-accounts") $(jget 'd["data"][0]["reauth_required"]')"
check "update: unknown field 400 names it" "400 True" "$(req "${U3[@]}" "${JSON[@]}" -d '{"access_token":"x","color":"red"}') $(jget '"color" in d["message"]')"
check "update: a field that cannot change 400" "400 True" "$(req "${U3[@]}" "${JSON[@]}" -d '{"external_account_id":"mallory"}') $(jget '"external_account_id" in d["message"]')"
check "update: reauth_required not a boolean 400" 400 "$(req "${U3[@]}" "${JSON[@]}" -d '{"reauth_required":"false"}')"
check "update: access_token null 400" 400 "$(req "${U3[@]}" "${JSON[@]}" -d '{"access_token":null}')"
check "update: refresh_token a number 400" 400 "$(req "${U3[@]}" "${JSON[@]}" -d '{"refresh_token":5}')"
check "update: expiry not RFC 3339 UTC 400" 400 "$(req "${U3[@]}" "${JSON[@]}" -d '{"expiry":"2031-01-02T03:04:05+01:00"}')"
check "update: nothing to update 400" 400 "$(req "${U3[@]}" "${JSON[@]}" -d '{}')"
check "update: an array 400" 400 "$(req "${U3[@]}" "${JSON[@]}" -d '[]')"
check "update: a repeated key 400" 400 "$(req "${U3[@]}" "${JSON[@]}" -d '{"access_token":"a","access_token":"b"}')"
check "update: a form body 415" 415 "$(req "${U3[@]}" -d 'access_token=x')"
check "update: another user's account 404" 404 "$(req -X PATCH "${AUTH[@]}" "${JSON[@]}" -d '{"access_token":"x"}' "$B/v2/user/u2/linked-accounts/la-u3")"
check "refused updates changed nothing" "at-4 rt-4" "$(req "$B/_control/accounts" >/dev/null; jget '" ".join(a["access_token"] + " " + a["refresh_token"] for a in d if a["id"] == "la-u3")')"
check "DELETE /_control/requests forgets the requests only" "200 True 0 1" "$(req -X DELETE "$B/_control/requests") $(jget 'd["forgotten"] > 10') $(req "$B/_control/requests" >/dev/null; jget 'len(d)') $(req "$B/_control/accounts" >/dev/null; jget 'len(d)')"

echo "== fake_provider"
VER=$("$py" -c 'import secrets; print(secrets.token_urlsafe(48))')
CH=$("$py" -c 'import sys,hashlib,base64; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).rstrip(b"=").decode())' "$VER")
BASIC=$("$py" -c 'import base64; from urllib.parse import quote_plus as q; print(base64.b64encode((q("my-client")+":"+q("s3:cr+et /x")).encode()).decode())')
RU='http%3A%2F%2F127.0.0.1%3A9%2Fcb%3Fx%3D1'
AZ="$P/authorize?response_type=code&client_id=my-client&redirect_uri=$RU&scope=openid+email&state=st1&code_challenge=$CH&code_challenge_method=S256"
# code: authorize and print the code from the Location header.
code() { req "$AZ" >/dev/null; hdr Location | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p'; }
# token ARGS...: POST /token with Basic client authentication.
token() { req -H "Authorization: Basic $BASIC" "$@" "$P/token"; }

check "authorize 302 appends with &" "302 True" "$(req "$AZ") $(hdr Location | grep -q '^http://127.0.0.1:9/cb?x=1&code=[^&]*&state=st1$' && echo True)"
check "authorize wrong client 400 HTML, no redirect" "400 text/html; charset=utf-8 " "$(req "${AZ/my-client/other}") $(hdr Content-Type) $(hdr Location)"
check "authorize wrong redirect_uri 400" 400 "$(req "${AZ/cb/evil}")"
check "authorize plain method 400" 400 "$(req "${AZ/S256/plain}")"
check "authorize short challenge 400" 400 "$(req "${AZ/$CH/abc}")"
C=$(code)
check "bad PKCE verifier 400 invalid_grant" "400 invalid_grant" "$(token -d grant_type=authorization_code -d "code=$C" -d "redirect_uri=$RU" -d "code_verifier=${VER}x") $(jget 'd["error"]')"
C=$(code)
check "token without Basic 401 invalid_client" "401 invalid_client Basic" "$(req -d grant_type=authorization_code -d "code=$C" -d client_id=my-client "$P/token") $(jget 'd["error"]') $(hdr WWW-Authenticate | cut -d' ' -f1)"
check "token wrong secret 401" 401 "$(req -u 'my-client:wrong' -d grant_type=authorization_code "$P/token")"
C=$(code)
check "token missing code_verifier 400 invalid_request" "400 invalid_request" "$(token -d grant_type=authorization_code -d "code=$C" -d "redirect_uri=$RU") $(jget 'd["error"]')"
C=$(code)
check "token 200" "200 Bearer 3600 3" "$(token -d grant_type=authorization_code -d "code=$C" -d "redirect_uri=$RU" -d "code_verifier=$VER") $(jget 'd["token_type"], d["expires_in"], len(d["id_token"].split("."))' | tr -d "(),'")"
AT=$(jget 'd["access_token"]'); RT=$(jget 'd["refresh_token"]')
check "id_token claims" "alice@example.test my-client" "$(jget 'json.loads(__import__("base64").urlsafe_b64decode(d["id_token"].split(".")[1]+"==")).get("email"), json.loads(__import__("base64").urlsafe_b64decode(d["id_token"].split(".")[1]+"==")).get("aud")' | tr -d "(),'")"
check "userinfo 200" "200 user-123" "$(req -H "Authorization: Bearer $AT" "$P/userinfo") $(jget 'd["sub"]')"
check "userinfo bad token 401" 401 "$(req -H "Authorization: Bearer nope" "$P/userinfo")"
check "refresh grant 200" 200 "$(token -d grant_type=refresh_token -d "refresh_token=$RT")"
check "reused code 400 invalid_grant" "400 invalid_grant" "$(token -d grant_type=authorization_code -d "code=$C" -d "redirect_uri=$RU" -d "code_verifier=$VER") $(jget 'd["error"]')"
check "tokens from reused code revoked" 401 "$(req -H "Authorization: Bearer $AT" "$P/userinfo")"
C=$(code)
token -d grant_type=authorization_code -d "code=$C" -d "redirect_uri=$RU" -d "code_verifier=$VER" >/dev/null; AT=$(jget 'd["access_token"]')
check "revoke 200" 200 "$(req -H "Authorization: Basic $BASIC" -d "token=$AT" -d token_type_hint=access_token "$P/revoke")"
check "revoke unknown token 200" 200 "$(req -H "Authorization: Basic $BASIC" -d "token=unknown" "$P/revoke")"
check "revoke bad client 401" 401 "$(req -u 'my-client:nope' -d "token=$AT" "$P/revoke")"
check "revoked token rejected by userinfo" 401 "$(req -H "Authorization: Bearer $AT" "$P/userinfo")"
check "control revoked lists it" "200 True" "$(req "$P/_control/revoked") $(jget "'$AT' in [t['token'] for t in d]")"
req "${JSON[@]}" -d '{"error":"access_denied","error_description":"user said no"}' "$P/_control/deny" >/dev/null
check "deny once" "302 True" "$(req "$AZ") $(hdr Location | grep -q 'error=access_denied&error_description=user+said+no&state=st1' && echo True)"
check "approve after deny" "302 True" "$(req "$AZ") $(hdr Location | grep -q 'code=' && echo True)"
req "${JSON[@]}" -d '{"id_token":false,"refresh_token":false}' "$P/_control/options" >/dev/null
C=$(code)
check "options drop id_token/refresh_token" "200 False False" "$(token -d grant_type=authorization_code -d "code=$C" -d "redirect_uri=$RU" -d "code_verifier=$VER") $(jget '"id_token" in d, "refresh_token" in d' | tr -d "(),'")"
req "${JSON[@]}" -d '{"route":"token","mode":"status","status":500}' "$P/_control/fault" >/dev/null
C=$(code)
check "provider fault 500 then normal" "500 200" "$(token -d grant_type=authorization_code -d "code=$C" -d "redirect_uri=$RU" -d "code_verifier=$VER") $(C=$(code); token -d grant_type=authorization_code -d "code=$C" -d "redirect_uri=$RU" -d "code_verifier=$VER")"
check "discovery: issuer is the fake's URL, its endpoints" "200 True True" "$(req "$P/.well-known/openid-configuration") $(jget "d['issuer'] == '$P' and d['token_endpoint'] == '$P/token'") $(jget "'code' in d['response_types_supported'] and d['code_challenge_methods_supported'] == ['S256']")"
req "${JSON[@]}" -d '{"token_endpoint":"{base}/token?v=2","userinfo_endpoint":null}' "$P/_control/metadata" >/dev/null
check "discovery: /_control/metadata changes and removes members" "200 True" "$(req "$P/.well-known/openid-configuration") $(jget "d['token_endpoint'] == '$P/token?v=2' and 'userinfo_endpoint' not in d")"
req "${JSON[@]}" -d '{}' "$P/_control/metadata" >/dev/null
check "discovery: {} goes back to the default" "True" "$(req "$P/.well-known/openid-configuration" >/dev/null; jget "d['token_endpoint'] == '$P/token' and 'userinfo_endpoint' in d")"

echo "== fake_provider: the refresh grant as acting for the user uses it"
req -X POST "$P/_control/reset" >/dev/null
# refresh RT: the refresh grant with Basic client authentication.
refresh() { token -d grant_type=refresh_token -d "refresh_token=$1"; }
check "issue: a grant without a browser" "200 at- rt- 3600" "$(req "${JSON[@]}" -d '{}' "$P/_control/issue") $(jget 'd["access_token"][:3], d["refresh_token"][:3], d["expires_in"]' | tr -d "(),'")"
RT1=$(jget 'd["refresh_token"]')
check "refresh (no rotation): access token only" "200 at- False" "$(refresh "$RT1") $(jget 'd["access_token"][:3], "refresh_token" in d' | tr -d "(),'")"
check "refresh (no rotation): the same refresh token again" 200 "$(refresh "$RT1")"
check "refresh of an unknown token 400 invalid_grant" "400 invalid_grant" "$(refresh rt-unknown) $(jget 'd["error"]')"
check "refresh without client authentication 401" 401 "$(req -d grant_type=refresh_token -d "refresh_token=$RT1" "$P/token")"
check "refresh grants recorded as route refresh, code grants not" "200 4 0" "$(req "$P/_control/requests?route=refresh") $(jget 'len(d)') $(req "$P/_control/requests?route=token" >/dev/null; jget 'len(d)')"
req "${JSON[@]}" -d '{"rotate_refresh":true,"expires_in":2}' "$P/_control/options" >/dev/null
check "rotation: a new refresh token, expires_in 2" "200 True 2" "$(refresh "$RT1") $(jget 'd["refresh_token"] != "'"$RT1"'" and d["refresh_token"].startswith("rt-"), d["expires_in"]' | tr -d "(),'")"
RT2=$(jget 'd["refresh_token"]')
check "rotation: the consumed one is refused" "400 invalid_grant" "$(refresh "$RT1") $(jget 'd["error"]')"
check "rotation: the new one works once" 200 "$(refresh "$RT2")"
RT3=$(jget 'd["refresh_token"]')
req "${JSON[@]}" -d '{"reuse_revokes":true}' "$P/_control/options" >/dev/null
check "reuse_revokes: a consumed one is refused" "400 invalid_grant" "$(refresh "$RT2") $(jget 'd["error"]')"
check "reuse_revokes: ... and the live one of its grant with it" "400 invalid_grant" "$(refresh "$RT3") $(jget 'd["error"]')"
check "reuse_revokes: the grant's tokens are listed revoked" "200 True" "$(req "$P/_control/revoked") $(jget "'$RT3' in [t['token'] for t in d] and '$RT1' in [t['token'] for t in d]")"
req "${JSON[@]}" -d '{"rotate_refresh":false,"reuse_revokes":false,"expires_in":0}' "$P/_control/options" >/dev/null
req "${JSON[@]}" -d '{}' "$P/_control/issue" >/dev/null
AT0=$(jget 'd["access_token"]'); RT4=$(jget 'd["refresh_token"]')
check "expires_in 0: issued already expired" "0 401" "$(jget 'd["expires_in"]') $(req -H "Authorization: Bearer $AT0" "$P/userinfo")"
check "options: rotate_refresh must be a boolean" 400 "$(req "${JSON[@]}" -d '{"rotate_refresh":1}' "$P/_control/options")"
req "${JSON[@]}" -d '{"expires_in":true}' "$P/_control/options" >/dev/null
req "${JSON[@]}" -d '{"route":"token","mode":"status","status":500}' "$P/_control/fault" >/dev/null
check "a fault of route token leaves the refresh grant alone" 200 "$(refresh "$RT4")"
C=$(code)
check "... and hits the next code grant" 500 "$(token -d grant_type=authorization_code -d "code=$C" -d "redirect_uri=$RU" -d "code_verifier=$VER")"
# rfault JSON: queue a fault for the next refresh grant; then refresh and print the status and the body's error.
rfault() { req "${JSON[@]}" -d "{\"route\":\"refresh\",$1}" "$P/_control/fault" >/dev/null; echo "$(refresh "$RT4") $(jget 'd["error"]')"; }
check "refresh fault 500" "500 injected_fault" "$(rfault '"mode":"status","status":500')"
check "refresh fault 429" "429 injected_fault" "$(rfault '"mode":"status","status":429')"
check "refresh fault invalid_grant" "400 invalid_grant" "$(rfault '"mode":"status","status":400,"body":"{\"error\":\"invalid_grant\"}"')"
check "refresh fault garbage" "200 <html>not json" "$(rfault '"mode":"garbage"' | cut -d' ' -f1) $(cat "$tmp/body")"
C=$(code)
check "refresh faults left the code grant alone" 200 "$(token -d grant_type=authorization_code -d "code=$C" -d "redirect_uri=$RU" -d "code_verifier=$VER")"
req "${JSON[@]}" -d '{"route":"refresh","mode":"hang","seconds":3}' "$P/_control/fault" >/dev/null
curl -s -o /dev/null --max-time 1 -H "Authorization: Basic $BASIC" -d grant_type=refresh_token -d "refresh_token=$RT4" "$P/token"
check "refresh hang (curl 28)" 28 "$?"
req "${JSON[@]}" -d '{"route":"refresh","mode":"close"}' "$P/_control/fault" >/dev/null
curl -s -o /dev/null -H "Authorization: Basic $BASIC" -d grant_type=refresh_token -d "refresh_token=$RT4" "$P/token"
check "refresh close (curl 52)" 52 "$?"
req "${JSON[@]}" -d '{"route":"refresh","mode":"delay","seconds":2}' "$P/_control/fault" >/dev/null
curl -s -o /dev/null --max-time 0.5 -H "Authorization: Basic $BASIC" -d grant_type=refresh_token -d "refresh_token=$RT4" "$P/token"
check "delay fault: nothing within 0.5 s (curl 28)" 28 "$?"
req "${JSON[@]}" -d '{"route":"refresh","mode":"delay","seconds":0.2}' "$P/_control/fault" >/dev/null
check "delay fault: then the real answer" "200 at-" "$(refresh "$RT4") $(jget 'd["access_token"][:3]')"
check "faults counted as refresh requests too" "200 True" "$(req "$P/_control/requests?route=refresh") $(jget 'len(d) >= 10')"

echo "== echo_backend"
start echo_backend
E=http://127.0.0.1:$(cat "$tmp/echo_backend.port")
check "echo: 200 JSON of what it got" "200 application/json POST /v1/x y=1&z=%2F Bearer t 1 2 hello" "$(req -H 'Authorization: Bearer t' -H 'X-Twice: 1' -H 'X-Twice: 2' -d hello "$E/v1/x?y=1&z=%2F") $(hdr Content-Type) $(jget 'd["method"], d["path"], d["query"], d["headers"]["authorization"], d["headers"]["x-twice"], d["body"]' | tr -d "(),'")"
check "echo: every method" "200 200 200" "$(req -X PATCH -d '{}' "$E/a") $(req -X DELETE "$E/b") $(req -I "$E/c")"
check "echo: recorded" "200 4 echo POST hello" "$(req "$E/_control/requests") $(jget 'len(d), d[0]["route"], d[0]["method"], d[0]["body"]' | tr -d "(),'")"
check "echo: cleared" "200 4 0" "$(req -X DELETE "$E/_control/requests") $(jget 'd["forgotten"]') $(req "$E/_control/requests" >/dev/null; jget 'len(d)')"
req "${JSON[@]}" -d '{"route":"echo","mode":"status","status":503}' "$E/_control/fault" >/dev/null
check "echo: faults too" "503 200" "$(req "$E/x") $(req "$E/x")"

echo "== shutdown"
stop
for n in fake_blink fake_provider echo_backend; do
    check "$n: no stderr output (warnings)" "" "$(cat "$tmp/$n.err")"
    check "$n: port file removed" "no" "$([ -e "$tmp/$n.port" ] && echo yes || echo no)"
done
alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
check "no fake process left" 0 "$alive"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
