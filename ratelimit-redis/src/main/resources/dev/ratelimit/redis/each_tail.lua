end

for i = 1, #KEYS do
  local a = 4 * (i - 1)
  argv[1], argv[2], argv[3], argv[4] = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local r = decide({ KEYS[i] }, argv)
  local o = 7 * (i - 1)
  for j = 1, 7 do out[o + j] = r[j] end
end
return out
