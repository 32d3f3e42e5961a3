-- Complete a task: POST /v1/tasks/{id}/complete, each request a different task (ids from the file
-- $TASKS, split between wrk's threads so no task is completed twice).
dofile(os.getenv("LOADTEST_DIR") .. "/report.lua")
local threads, counter = {}, 0
function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  ids = {}
  for line in io.lines(os.getenv("TASKS")) do ids[#ids + 1] = line end
  step = tonumber(os.getenv("THREADS"))
  next_id = index + 1
  token = "Bearer " .. os.getenv("TOKEN")
end
function request()
  local id = ids[next_id]
  next_id = next_id + step
  if id == nil then id = "exhausted" end
  return wrk.format("POST", "/v1/tasks/" .. id .. "/complete",
    { ["Content-Type"] = "application/json", ["Authorization"] = token, ["If-Match"] = '"1"' }, "{}")
end
