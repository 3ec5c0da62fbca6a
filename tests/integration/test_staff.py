"""Staff memberships over HTTP on the local runtime: the service keeps staff rights, tokens grant none.

The local runtime caches no authorizer result (outside chaos mode), so a change shows on the next request;
in AWS it shows within the authorizer's cache time.
"""

import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from local_runtime import token as token_cli
from tests.integration.conftest import ROOT, TABLE
from tests.integration.test_pos import sell

pytestmark = pytest.mark.integration


def org():
    return f"org-{uuid.uuid4().hex[:8]}"


def subject(name):
    return f"{name}-{uuid.uuid4().hex[:6]}"


def put_member(runtime, token, org_id, who, *roles):
    return runtime.call("PUT", f"/v1/orgs/{org_id}/staff/{who}", token, json_body={"roles": list(roles)})


def console(runtime, who):
    """A staff console token for `who`, granting nothing by itself."""
    return runtime.token(who, client_id="local-staff-console")


def staff_list(runtime, token, org_id, **query):
    response = runtime.call("GET", f"/v1/orgs/{org_id}/staff", token, params=query)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_admin_grants_changes_and_revokes_and_each_takes_effect(runtime):
    venue, admin, carol = org(), subject("admin"), subject("carol")
    admin_token = runtime.token(admin, org_id=venue, roles=["admin"])
    carol_token = console(runtime, carol)
    assert sell(runtime, carol_token, venue).status_code == 404  # not staff yet: the org does not exist for her

    granted = put_member(runtime, admin_token, venue, carol, "pos")
    assert granted.status_code == 201
    assert granted.json() | {"granted_at": None} == {
        "org_id": venue,
        "subject": carol,
        "roles": ["pos"],
        "granted_by": admin,
        "granted_at": None,
    }
    assert put_member(runtime, admin_token, venue, carol, "pos").status_code == 200  # the same PUT again
    assert sell(runtime, carol_token, venue).status_code == 201

    assert put_member(runtime, admin_token, venue, carol, "viewer").status_code == 200
    assert sell(runtime, carol_token, venue).status_code == 403
    assert runtime.call("GET", f"/v1/orgs/{venue}/profiles", carol_token).status_code == 200

    assert runtime.call("DELETE", f"/v1/orgs/{venue}/staff/{carol}", admin_token).status_code == 204
    assert runtime.call("GET", f"/v1/orgs/{venue}/profiles", carol_token).status_code == 404
    assert runtime.call("DELETE", f"/v1/orgs/{venue}/staff/{carol}", admin_token).status_code == 404
    assert [m["subject"] for m in staff_list(runtime, admin_token, venue)["staff"]] == [admin]


def test_one_login_is_staff_of_several_orgs_and_the_path_decides_which_membership_applies(runtime):
    arena, club, elsewhere, promoter = org(), org(), org(), subject("promoter")
    runtime.token(promoter, org_id=arena, roles=["admin"])
    token = runtime.token(promoter, org_id=club, roles=["pos"])  # the same subject, a second org

    assert staff_list(runtime, token, arena)["staff"][0]["roles"] == ["admin"]
    assert sell(runtime, token, club).status_code == 201
    assert runtime.call("GET", f"/v1/orgs/{club}/staff", token).status_code == 403  # not an admin there
    assert sell(runtime, token, arena).status_code == 403  # an admin there, not a seller
    assert runtime.call("GET", f"/v1/orgs/{elsewhere}/profiles", token).status_code == 404


def test_only_an_orgs_admins_manage_its_staff(runtime):
    venue, other = org(), org()
    seller = runtime.token(subject("till"), org_id=venue, roles=["pos", "viewer"])
    foreign_admin = runtime.token(subject("admin"), org_id=other, roles=["admin"])
    user = runtime.token()

    assert put_member(runtime, seller, venue, "anyone", "admin").status_code == 403
    assert put_member(runtime, foreign_admin, venue, "anyone", "admin").status_code == 404
    assert put_member(runtime, user, venue, "anyone", "admin").status_code == 404
    assert runtime.call("GET", f"/v1/orgs/{venue}/staff", seller).status_code == 403


@pytest.mark.parametrize(
    "body", [{"roles": []}, {"roles": ["owner"]}, {"roles": "admin"}, {}, {"roles": ["pos"], "org_id": "x"}], ids=str
)
def test_a_bad_membership_is_422(runtime, body):
    venue = org()
    admin = runtime.token(subject("admin"), org_id=venue, roles=["admin"])

    response = runtime.call("PUT", f"/v1/orgs/{venue}/staff/someone", admin, json_body=body)

    assert response.status_code == 422, response.text
    assert staff_list(runtime, admin, venue)["staff"][0]["roles"] == ["admin"]


def test_the_last_admin_stays(runtime):
    venue, admin = org(), subject("admin")
    token = runtime.token(admin, org_id=venue, roles=["admin"])

    removed = runtime.call("DELETE", f"/v1/orgs/{venue}/staff/{admin}", token)
    demoted = put_member(runtime, token, venue, admin, "pos")

    assert (removed.status_code, demoted.status_code) == (409, 409)
    assert "at least one admin" in removed.json()["error"]["message"]
    assert staff_list(runtime, token, venue)["staff"][0]["roles"] == ["admin"]


def test_two_admins_removing_each_other_at_once_leave_one(runtime):
    for _ in range(3):
        venue, ann, ben = org(), subject("ann"), subject("ben")
        ann_token = runtime.token(ann, org_id=venue, roles=["admin"])
        ben_token = runtime.token(ben, org_id=venue, roles=["admin"])

        def remove(pair, venue=venue):
            token, who = pair
            return runtime.call("DELETE", f"/v1/orgs/{venue}/staff/{who}", token)

        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(remove, [(ann_token, ben), (ben_token, ann)]))

        # The loser is refused: 409 when both were authorized before either wrote (the roster decides), 404
        # when the winner's removal came first (the loser is no longer staff).
        codes = [a.status_code for a in answers]
        assert sorted(codes) in ([204, 404], [204, 409]), [a.text for a in answers]
        survivor = ann_token if codes[0] == 204 else ben_token
        left = staff_list(runtime, survivor, venue)["staff"]
        assert [m["roles"] for m in left] == [["admin"]]


def test_the_staff_list_pages_to_the_end(runtime):
    venue = org()
    admin = runtime.token(subject("admin"), org_id=venue, roles=["admin"])
    for n in range(7):
        assert put_member(runtime, admin, venue, f"member-{n}", "viewer").status_code == 201

    seen, cursor = [], None
    while True:
        page = staff_list(runtime, admin, venue, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += [m["subject"] for m in page["staff"]]
        if not (cursor := page.get("next_cursor")):
            break

    assert len(seen) == len(set(seen)) == 8


def test_the_token_command_and_the_operator_grant_against_the_running_runtime(runtime, capsys):
    venue, first_admin, till = org(), subject("owner"), subject("till")
    granted = subprocess.run(
        [
            *(sys.executable, "-m", "scripts.operator", "--endpoint", runtime.dynamodb_endpoint, "--table", TABLE),
            *("add-staff", "--org-id", venue, "--subject", first_admin, "--role", "admin"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert granted.returncode == 0, granted.stderr

    args = ["--sub", till, "--org", venue, "--role", "pos", "--state-dir", str(runtime.state_dir)]
    assert token_cli.main(args) == 0
    till_token = capsys.readouterr().out.strip()

    assert sell(runtime, till_token, venue).status_code == 201
    members = staff_list(runtime, console(runtime, first_admin), venue)["staff"]
    assert {(m["subject"], m["granted_by"]) for m in members} == {(first_admin, "operator"), (till, "local-token")}


def test_access_tokens_act_for_a_registered_user_and_cannot_register(runtime):
    person = subject("person")
    access = runtime.token(person, access_token=True)

    refused = runtime.call("PUT", "/v1/me", access)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "id_token_required"

    email = f"{person}@example.com"
    registered = runtime.call("PUT", "/v1/me", runtime.token(person, email=email, email_verified=True))
    assert registered.status_code == 201

    assert runtime.call("GET", "/v1/me", access).json()["email"] == email
    assert runtime.call("PUT", "/v1/me", access).status_code == 200
