import httpx
import pytest

pytestmark = pytest.mark.integration


def test_second_instance_has_own_port_and_log(devstack):
    first = devstack.start_service("links")
    second = devstack.start_service("links", instance=2)

    first_env = httpx.get(devstack.service_url("links") + "/env", trust_env=False)
    second_env = httpx.get(
        devstack.service_url("links", instance=2) + "/env", trust_env=False
    )

    assert first.is_running()
    assert second.is_running()
    assert second is not first
    assert devstack.http_port("links", 2) != devstack.http_port("links")
    assert second_env.json() == devstack.service_env("links", instance=2)
    assert {
        key: value
        for key, value in second_env.json().items()
        if key != "LINKS_HTTP_PORT"
    } == {
        key: value
        for key, value in first_env.json().items()
        if key != "LINKS_HTTP_PORT"
    }
    assert devstack.log_paths()["links-2"] == devstack.log_dir / "links-2.log"


def test_stop_service_stops_only_that_instance(devstack):
    first = devstack.start_service("notifier")
    second = devstack.start_service("notifier", instance=2)

    devstack.stop_service("notifier", instance=2)

    assert not second.is_running()
    assert first.is_running()
    assert devstack.stop_service("notifier", instance=2) is None


def test_restarted_instance_is_a_new_process(devstack):
    devstack.start_service("identity", instance=3)
    devstack.stop_service("identity", instance=3)

    restarted = devstack.start_service("identity", instance=3)

    assert restarted.is_running()
    devstack.stop_service("identity", instance=3)


def test_instance_zero_is_rejected(devstack):
    with pytest.raises(ValueError, match="invalid instance 0"):
        devstack.service_env("links", instance=0)
