-- A member's task list: GET /v1/teams/{team}/tasks?assignee=me
dofile(os.getenv("LOADTEST_DIR") .. "/report.lua")
wrk.method = "GET"
wrk.path = "/v1/teams/" .. os.getenv("TEAM") .. "/tasks?assignee=me&limit=50"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
