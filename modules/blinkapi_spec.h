/* Every Blink API path and field name mod_blinkauth uses, in one place. docs/blink-api.md says which of them Blink
 * documents and which are our reading of its documentation: check those against the live reference and change them
 * here. */
#ifndef BLINKAUTH_BLINKAPI_SPEC_H
#define BLINKAUTH_BLINKAPI_SPEC_H

/* Add User Linked Account: POST; List User Linked Accounts: GET; %s = user id (percent-encoded). */
#define BLINKAPI_PATH_LINKED_ACCOUNTS "/v2/user/%s/linked-accounts"
/* Get / Update / Delete User Linked Account: GET, PATCH, DELETE; %s = user id, linked account id (percent-encoded). */
#define BLINKAPI_PATH_LINKED_ACCOUNT "/v2/user/%s/linked-accounts/%s"

/* Get User: GET; %s = user id (percent-encoded). */
#define BLINKAPI_PATH_USER "/v2/user/%s"
/* The user id the token check asks for: one no Blink user has (unreserved characters only, so it needs no encoding). */
#define BLINKAPI_CHECK_USER "blinkauth-token-check"

/* The response envelope. */
#define BLINKAPI_FIELD_DATA "data"
#define BLINKAPI_FIELD_ID "id"
#define BLINKAPI_FIELD_CODE "code"

/* The linked account's fields. */
#define BLINKAPI_FIELD_AUTH_ID "auth_id"
#define BLINKAPI_FIELD_EXTERNAL_ACCOUNT_ID "external_account_id"
#define BLINKAPI_FIELD_ACCESS_TOKEN "access_token"
#define BLINKAPI_FIELD_REFRESH_TOKEN "refresh_token"
#define BLINKAPI_FIELD_EXPIRY "expiry"
#define BLINKAPI_FIELD_REAUTH_REQUIRED "reauth_required"

/* The user's fields (Get User). */
#define BLINKAPI_FIELD_EMAIL "email"
#define BLINKAPI_FIELD_FIRST_NAME "first_name"
#define BLINKAPI_FIELD_LAST_NAME "last_name"

#endif
