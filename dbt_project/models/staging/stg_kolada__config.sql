select setting, value as setting_value
from {{ source('raw', 'kolada_config') }}
