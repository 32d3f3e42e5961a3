-- Start an instance: POST /v1/teams/{team}/processes
dofile(os.getenv("LOADTEST_DIR") .. "/report.lua")
wrk.method = "POST"
wrk.path = "/v1/teams/" .. os.getenv("TEAM") .. "/processes"
wrk.body = '{"playbook_id":"' .. os.getenv("PLAYBOOK") .. '"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
