"""The test harness: AppTest driver, a real server runner, a protocol-level load client and shared checks."""
