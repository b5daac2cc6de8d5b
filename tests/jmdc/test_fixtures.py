import httpx


def test_the_service_answers_and_accounts_sign_in(jmdc_server, jmdc_accounts):
    _, group_id = jmdc_accounts.group()
    account = jmdc_accounts.new(roles=("submitter",))
    me = httpx.get(f"{jmdc_server.service_url}/api/account", headers=account.headers)
    assert me.status_code == 200 and me.json()["username"] == account.username
    assert group_id > 0
