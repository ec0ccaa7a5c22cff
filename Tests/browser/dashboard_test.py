"""Drives the dashboard in a real headless Chromium (Debian's chromium and chromium-driver, Selenium from PyPI).

Run by DashboardTests (Swift) against a live server: OFFLOAD_URL, OFFLOAD_ADMIN_KEY and SCREENSHOT_DIR come from
the environment. Each step saves a screenshot; the script exits non-zero with a message at the first failure,
and fails too when the browser reports a Content-Security-Policy violation or a script error.
"""

import json
import os
import sys
import tempfile
import urllib.request
import zipfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["OFFLOAD_URL"]
KEY = os.environ["OFFLOAD_ADMIN_KEY"]
SHOTS = os.environ["SCREENSHOT_DIR"]


def call(method, path, body=None):
    """The API as a script sees it, to check what the browser did."""
    request = urllib.request.Request(BASE + path, method=method, headers={"X-API-Key": KEY, "Content-Type": "application/json"},
                                     data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main():
    os.makedirs(SHOTS, exist_ok=True)
    driver = browser()
    # The pages render as data comes in: an element may not be there yet, or be replaced a moment after.
    wait = WebDriverWait(driver, 20, ignored_exceptions=[NoSuchElementException, StaleElementReferenceException])
    step = [0]

    def shot(name):
        step[0] += 1
        driver.save_screenshot(os.path.join(SHOTS, f"{step[0]:02d}-{name}.png"))

    def text_of(css):
        found = driver.find_elements(By.CSS_SELECTOR, css)
        return found[0].text if found else None

    def until_text(css, expected, timeout=20):
        try:
            WebDriverWait(driver, timeout, ignored_exceptions=[StaleElementReferenceException]).until(
                lambda d: expected in (text_of(css) or ""))
        except TimeoutException:
            raise AssertionError(f"{css} never showed {expected!r} (it shows {text_of(css)!r})") from None

    try:
        # Sign in: the key is exchanged for a JWT kept in sessionStorage; the key is stored nowhere.
        driver.get(BASE + "/")
        wait.until(EC.visibility_of_element_located((By.ID, "api-key")))
        shot("sign-in")
        driver.find_element(By.ID, "api-key").send_keys("not-a-key")
        driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
        until_text("#sign-in-error", "unknown API key")
        driver.find_element(By.ID, "api-key").clear()
        driver.find_element(By.ID, "api-key").send_keys(KEY)
        driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#jobs-table[data-rendered]")))
        stored = driver.execute_script("return JSON.stringify(sessionStorage) + JSON.stringify(localStorage) + document.cookie")
        assert KEY not in stored, "the API key was stored by the page"
        assert "token" in stored, "no token in sessionStorage"
        assert "token" not in driver.current_url and KEY not in driver.current_url

        # Submit a job from the jobs page: the page opens it, and its progress reaches 100 without a reload.
        driver.find_element(By.CSS_SELECTOR, "#new-job").find_element(By.XPATH, "..").find_element(By.TAG_NAME, "summary").click()
        data = driver.find_element(By.ID, "new-data")
        data.clear()
        data.send_keys(json.dumps([{"id": i, "name": f"item-{i}"} for i in range(12)]))
        driver.find_element(By.ID, "new-submit").click()
        wait.until(lambda d: "#/jobs/job_" in d.current_url)
        job_id = driver.current_url.split("#/jobs/")[1]
        driver.execute_script("window.__samePage = true")
        until_text("#job-status", "processing")
        shot("job-running")
        until_text("#job-progress", "100%")
        until_text("#job-status", "completed")
        assert driver.execute_script("return window.__samePage === true"), "the page reloaded"
        assert call("GET", f"/api/jobs/{job_id}")["status"] == "COMPLETED"
        until_text("#job-result", "item-11")
        shot("job-completed")

        # The list shows it, live: a job submitted behind the page's back appears without a reload.
        driver.get(BASE + "/#/jobs")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, f'tr[data-job="{job_id}"]')))
        other = call("POST", "/api/jobs", {"processingType": "type1", "data": [{"id": 1, "name": "x"}]})
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, f'tr[data-job="{other["jobId"]}"]')))
        Select(driver.find_element(By.ID, "filter-status")).select_by_value("COMPLETED")
        wait.until(lambda d: all("completed" in row.text for row in d.find_elements(By.CSS_SELECTOR, "#jobs-table tbody tr")))
        shot("jobs-list")

        # Cancel a running job from its page.
        long_job = call("POST", "/api/jobs", {"processingType": "type1", "data": [{"id": i, "name": str(i)} for i in range(600)]})
        driver.get(BASE + f"/#/jobs/{long_job['jobId']}")
        until_text("#job-status", "processing")
        wait.until(lambda d: int(d.find_element(By.CSS_SELECTOR, "#job-progress [role=progressbar]").get_attribute("aria-valuenow")) > 0)
        driver.find_element(By.ID, "cancel-job").click()
        until_text("#job-status", "cancelled")
        assert call("GET", f"/api/jobs/{long_job['jobId']}")["status"] == "CANCELLED"
        assert driver.find_element(By.ID, "retry-job").is_displayed(), "no retry button on a cancelled job"
        shot("job-cancelled")

        # Pause a queue on the queues page; the server agrees.
        driver.get(BASE + "/#/queues")
        button = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, 'button[data-queue="default"]')))
        assert button.text == "Pause"
        button.click()
        until_text('tr[data-queue-row="default"]', "paused")
        queues = call("GET", "/api/queues")
        assert any(q.get("queue") == "default" and q.get("paused") for q in queues["queues"]), queues
        shot("queues-paused")
        driver.find_element(By.CSS_SELECTOR, 'button[data-queue="default"]').click()
        until_text('tr[data-queue-row="default"]', "active")

        # Workers: a registered remote worker shows with its labels and can be paused.
        registered = call("POST", "/api/workers/register",
                          {"name": "gpu-box", "processingTypes": ["shell"], "labels": {"gpu": "a100"}, "maxConcurrentJobs": 2})
        driver.get(BASE + "/#/workers")
        until_text("#workers-table", "gpu-box")
        until_text("#workers-table", "gpu=a100")
        driver.find_element(By.CSS_SELECTOR, f'button[data-worker="{registered["workerId"]}"]').click()
        until_text("#workers-table", "paused")
        shot("workers")

        # Throughput and latency charts, drawn from the per-minute series.
        driver.get(BASE + "/#/charts")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#chart-throughput[data-drawn]")))
        until_text("#hour-cards", "completed")
        shot("charts")

        # The run page: a ZIP bundle is uploaded, the commands run as a shell job in a directory holding it,
        # stdout and stderr stream in.
        bundle = os.path.join(tempfile.mkdtemp(), "bundle.zip")
        with zipfile.ZipFile(bundle, "w") as archive:
            archive.writestr("greet.sh", "echo hello from the bundle\n")
        driver.get(BASE + "/#/run")
        commands = wait.until(EC.visibility_of_element_located((By.ID, "run-commands")))
        driver.find_element(By.ID, "run-bundle").send_keys(bundle)
        commands.send_keys("sh greet.sh\necho hello from the dashboard\necho to-stderr >&2\nexit 3")
        driver.find_element(By.ID, "run-submit").click()
        until_text("#run-output #job-logs", "hello from the bundle")
        until_text("#run-output #job-logs", "hello from the dashboard")
        until_text("#run-output #job-logs", "to-stderr")
        until_text("#run-output #job-status", "failed")
        driver.execute_script("document.querySelector('#run-output #job-status').scrollIntoView()")
        shot("run")

        problems = [entry["message"] for entry in driver.get_log("browser")
                    if entry["level"] == "SEVERE" and ("Content Security Policy" in entry["message"] or "Uncaught" in entry["message"])]
        assert not problems, f"browser errors: {problems}"
        print("dashboard: all steps passed")
    except Exception as error:  # report what the page showed, then fail
        shot("failure")
        print(f"FAILED at step {step[0]}: {error}\nURL: {driver.current_url}\nPAGE: {driver.find_element(By.TAG_NAME, 'body').text[:2000]}",
              file=sys.stderr)
        for entry in driver.get_log("browser"):
            print("browser:", entry["level"], entry["message"], file=sys.stderr)
        sys.exit(1)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
