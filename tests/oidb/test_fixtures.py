import httpx


def test_the_service_answers_and_accounts_sign_in(oidb_server, oidb_accounts):
    _, group_id = oidb_accounts.group()
    account = oidb_accounts.new(roles=("submitter",))
    me = httpx.get(f"{oidb_server.service_url}/api/account", headers=account.headers)
    assert me.status_code == 200 and me.json()["username"] == account.username
    assert group_id > 0
