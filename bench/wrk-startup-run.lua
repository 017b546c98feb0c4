-- wrk's start-up run (bench/peer-clients.ts): the process starts, opens every connection with a
-- request on it, and its thread stops at the first response. wrk still waits out its duration,
-- idle, so the CPU it uses is its start-up's.
response = function(status, headers, body)
  wrk.thread:stop()
end
