"""Measures the dashboard's first load with many jobs in the store (docs/benchmarks.md has the command).

Seeds the server at OFFLOAD_URL (admin key OFFLOAD_ADMIN_KEY) with SEED jobs through batch submits (noop jobs the
server's in-process workers finish, so they count in the last hour's charts), then opens the dashboard in a cold
headless Chromium (cache disabled) that is already signed in, and reports: bytes transferred (page, script, styles
and API calls), time from navigation to the rendered job list, and the server time of the calls the pages make.
"""

import json
import os
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["OFFLOAD_URL"]
KEY = os.environ["OFFLOAD_ADMIN_KEY"]
SEED = int(os.environ.get("SEED", "100000"))
# Seed into this queue, paused first, so the jobs stay PENDING (the default: run them to COMPLETED).
PARK = os.environ.get("PARK_QUEUE")


def call(method, path, body=None):
    request = urllib.request.Request(BASE + path, method=method, headers={"X-API-Key": KEY, "Content-Type": "application/json"},
                                     data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def timed(path, repeat=5):
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        body = call("GET", path)
        elapsed = (time.perf_counter() - start) * 1000
        best = elapsed if best is None else min(best, elapsed)
    return best, len(body)


def main():
    if SEED:
        start = time.perf_counter()
        if PARK:
            call("POST", f"/api/queues/{PARK}/pause")
        options = {"queue": PARK} if PARK else {}
        for offset in range(0, SEED, 1000):
            jobs = [{"processingType": "noop", "data": {"n": offset + i}, "options": options} for i in range(min(1000, SEED - offset))]
            call("POST", "/api/jobs/batch", {"jobs": jobs})
        print(f"seeded {SEED} jobs in {time.perf_counter() - start:.1f} s")
        while not PARK:
            stats = json.loads(call("GET", "/api/stats"))
            waiting = sum(q["pending"] + q["processing"] for q in stats["queues"] if not q["paused"])
            if waiting == 0:
                break
            time.sleep(1)
        print(f"all finished after {time.perf_counter() - start:.1f} s")

    for path in ["/api/jobs?limit=50", "/api/stats", "/api/stats/series?minutes=60", "/metrics"]:
        best, size = timed(path)
        print(f"GET {path}: {best:.1f} ms (best of 5), {size} bytes")

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        wait = WebDriverWait(driver, 30)
        driver.get(BASE + "/")
        wait.until(EC.visibility_of_element_located((By.ID, "api-key"))).send_keys(KEY)
        driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#jobs-table[data-rendered]")))
        for run in range(3):
            # A new navigation in the signed-in tab: page, script, styles and the first API calls, no cache.
            driver.get("about:blank")
            driver.get(BASE + "/#/jobs")
            wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#jobs-table[data-rendered]")))
            WebDriverWait(driver, 30).until(lambda d: d.execute_script(
                "return performance.getEntriesByType('resource').some(e => e.name.includes('/api/stats'))"))
            figures = driver.execute_script("""
                const nav = performance.getEntriesByType('navigation')[0];
                const resources = performance.getEntriesByType('resource');
                const rendered = performance.getEntriesByName('offload:jobs-rendered')[0].startTime;
                const rows = document.querySelectorAll('#jobs-table tbody tr').length;
                return {rendered, rows, page: nav.transferSize,
                        resources: resources.map(e => [e.name.replace(location.origin, ''), e.transferSize, Math.round(e.duration)])};
            """)
            total = figures["page"] + sum(size for _, size, _ in figures["resources"])
            print(f"run {run + 1}: job list rendered ({figures['rows']} rows) {figures['rendered']:.0f} ms after navigation; "
                  f"{total} bytes transferred")
            for name, size, duration in [("/", figures["page"], 0)] + figures["resources"]:
                print(f"    {name}: {size} bytes" + (f", {duration} ms" if duration else ""))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
